package kubernetes_test

import (
	"path"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/planbot/planbot/config"
)

// keyRef is a reference to one key of a Secret or a ConfigMap.
type keyRef struct {
	Name, Key string
	Optional  *bool
}

// webPod is what TestWebPage reads of the Deployment's pod.
type webPod struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Env []struct {
						Name      string
						Value     string
						ValueFrom *struct {
							SecretKeyRef    *keyRef
							ConfigMapKeyRef *keyRef
						}
					}
					VolumeMounts []struct{ Name, MountPath string }
				}
				Volumes []struct {
					Name   string
					Secret *struct {
						SecretName string
						Optional   *bool
						Items      []struct{ Key, Path string }
					}
				}
			}
		}
	}
}

// objects are the Secrets and ConfigMaps of a namespace, as kubelet
// resolves a pod's references to them: kind/name → key → value.
type objects map[string]map[string]string

// resolve returns the container's environment as kubelet sets it, and the
// files of its Secret volumes by path. A missing object or key leaves an
// optional variable or item unset; a required one is an error.
func (p webPod) resolve(t *testing.T, objs objects) (env, files map[string]string) {
	t.Helper()
	pod := p.Spec.Template.Spec
	c := pod.Containers[0]
	env, files = map[string]string{}, map[string]string{}
	lookup := func(kind string, ref *keyRef) (string, bool) {
		v, ok := objs[kind+"/"+ref.Name][ref.Key]
		if !ok && (ref.Optional == nil || !*ref.Optional) {
			t.Fatalf("%s %s has no key %s, and the reference is not optional", kind, ref.Name, ref.Key)
		}
		return v, ok
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			if v, ok := lookup("Secret", e.ValueFrom.SecretKeyRef); ok {
				env[e.Name] = v
			}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			if v, ok := lookup("ConfigMap", e.ValueFrom.ConfigMapKeyRef); ok {
				env[e.Name] = v
			}
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	for _, v := range pod.Volumes {
		if v.Secret == nil || mounts[v.Name] == "" {
			continue
		}
		data, exists := objs["Secret/"+v.Secret.SecretName]
		optional := v.Secret.Optional != nil && *v.Secret.Optional
		if !exists && !optional {
			t.Fatalf("volume %s needs the Secret %s", v.Name, v.Secret.SecretName)
		}
		items := v.Secret.Items
		if items == nil {
			for k := range data {
				items = append(items, struct{ Key, Path string }{k, k})
			}
		}
		for _, it := range items {
			val, ok := data[it.Key]
			if !ok && exists && !optional {
				t.Fatalf("volume %s needs the key %s of the Secret %s", v.Name, it.Key, v.Secret.SecretName)
			}
			if ok {
				files[path.Join(mounts[v.Name], it.Path)] = val
			}
		}
	}
	return env, files
}

// TestWebPage resolves each overlay's pod as kubelet would and parses the
// environment as planbot server does: without the planbot-web ConfigMap
// and the client secret the page is off and the pod still starts; with
// them the page is on, with the client id, the external URL and the
// client secret file from the planbot Secret.
func TestWebPage(t *testing.T) {
	app := map[string]string{"app-id": "12345", "app.pem": "PEM", "webhook-secret": "whsec"}
	withClient := map[string]string{"client-secret": "cs-1"}
	for k, v := range app {
		withClient[k] = v
	}
	for _, overlay := range overlays {
		var pod webPod
		for _, r := range render(t, overlay) {
			if r.Kind == "Deployment" {
				if err := yaml.Unmarshal([]byte(r.YAML), &pod); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tt := range []struct {
			name       string
			objs       objects
			wantPage   bool
			wantWebURL string
		}{
			{name: "without the page", objs: objects{"Secret/planbot": app}},
			{name: "client secret but no ConfigMap", objs: objects{"Secret/planbot": withClient}},
			{name: "with the page", wantPage: true, wantWebURL: "https://github.com/", objs: objects{"Secret/planbot": withClient,
				"ConfigMap/planbot-web": {"github-client-id": "Iv1.abc", "external-url": "https://planbot.example.com"}}},
			{name: "with the page on GitHub Enterprise", wantPage: true, wantWebURL: "https://github.example.com/", objs: objects{"Secret/planbot": withClient,
				"ConfigMap/planbot-web": {"github-client-id": "Iv1.abc", "external-url": "https://planbot.example.com", "github-web-url": "https://github.example.com/"}}},
		} {
			t.Run(overlay+"/"+tt.name, func(t *testing.T) {
				tt.objs["Secret/planbot-database"] = map[string]string{"url": "postgres://planbot@db/planbot"}
				env, files := pod.resolve(t, tt.objs)
				o, err := config.ParseServer(nil, func(k string) string { return env[k] })
				if err != nil {
					t.Fatalf("the pod's environment does not configure a server: %v\n%v", err, env)
				}
				if o.Web.Enabled() != tt.wantPage {
					t.Fatalf("web page on = %v, want %v (%+v)", o.Web.Enabled(), tt.wantPage, o.Web)
				}
				if !tt.wantPage {
					return
				}
				if o.Web.ClientID != "Iv1.abc" || o.Web.ExternalURL != "https://planbot.example.com" || o.Web.WebURL != tt.wantWebURL {
					t.Errorf("web page settings %+v", o.Web)
				}
				if got := files[o.Web.ClientSecretFile]; got != "cs-1" {
					t.Errorf("--github-client-secret-file %s holds %q, want the planbot Secret's client-secret; files %v", o.Web.ClientSecretFile, got, files)
				}
				if files[o.GitHubAppKeyFile] != "PEM" || files[o.WebhookSecretFile] != "whsec" {
					t.Errorf("key file %s or webhook secret file %s not from the planbot Secret; files %v", o.GitHubAppKeyFile, o.WebhookSecretFile, files)
				}
			})
		}
	}
}
