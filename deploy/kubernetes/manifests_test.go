// Package kubernetes_test renders planbot's Kubernetes overlays with the
// code that renders Kustomize overlays in pull requests, and validates every
// resource against the Kubernetes OpenAPI schemas, offline.
//
// The schemas are the Kubernetes API's OpenAPI v2 document that kustomize
// itself embeds (sigs.k8s.io/kustomize/kyaml/openapi). Each definition
// becomes a JSON Schema, checked strictly as kubeconform -strict does: an
// object with declared properties accepts no other field, so a misspelt or
// misplaced field fails the test instead of being dropped by the API
// server.
package kubernetes_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/kustomize/kyaml/openapi/kubernetesapi"
	"sigs.k8s.io/yaml"

	"github.com/planbot/planbot/runner/kustomize"
)

// validator validates Kubernetes resources against the schemas of one
// Kubernetes version.
type validator struct {
	version string
	// mu guards the fields below: jsonschema compiles lazily.
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	byGVK    map[string]string // "group/version/Kind" → definition name
	compiled map[string]*jsonschema.Schema
}

// newValidator converts the embedded OpenAPI document into one JSON Schema
// resource holding every definition.
func newValidator(t testing.TB) *validator {
	t.Helper()
	version := kubernetesapi.DefaultOpenAPI
	asset := "kubernetesapi/" + strings.ReplaceAll(version, ".", "_") + "/swagger.pb"
	var doc openapi_v2.Document
	if err := proto.Unmarshal(kubernetesapi.OpenAPIMustAsset[version](asset), &doc); err != nil {
		t.Fatalf("read the OpenAPI document of Kubernetes %s: %v", version, err)
	}
	var sw spec.Swagger
	if _, err := sw.FromGnostic(&doc); err != nil {
		t.Fatalf("convert the OpenAPI document: %v", err)
	}
	b, err := json.Marshal(sw)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["definitions"].(map[string]any)
	if len(defs) < 100 {
		t.Fatalf("the OpenAPI document of Kubernetes %s has %d definitions", version, len(defs))
	}
	v := &validator{version: version, byGVK: map[string]string{}, compiled: map[string]*jsonschema.Schema{}}
	for name, d := range defs {
		def := d.(map[string]any)
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			g := g.(map[string]any)
			v.byGVK[fmt.Sprintf("%s/%s/%s", g["group"], g["version"], g["kind"])] = name
		}
	}
	// Two formats that JSON Schema cannot express by type alone: both
	// accept a number or a string ("1", "50%", "500m", "2Gi").
	numberOrString := map[string]any{"oneOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "number"},
	}}
	defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = map[string]any{"oneOf": []any{
		map[string]any{"type": "string"}, map[string]any{"type": "integer"},
	}}
	defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = numberOrString
	for _, d := range defs {
		strict(d)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource("kubernetes.json", map[string]any{"definitions": defs}); err != nil {
		t.Fatal(err)
	}
	v.compiler = c
	return v
}

// strict forbids, in s and every schema inside it, the fields an object
// does not declare, unless the object takes any field.
func strict(s any) {
	switch s := s.(type) {
	case map[string]any:
		if _, ok := s["properties"]; ok {
			if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
				s["additionalProperties"] = false
			}
		}
		for _, v := range s {
			strict(v)
		}
	case []any:
		for _, v := range s {
			strict(v)
		}
	}
}

// validate checks one manifest, in YAML, against the schema of its kind.
func (v *validator) validate(manifest string) error {
	b, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		return err
	}
	obj, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return fmt.Errorf("not an object")
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	gvk := group + "/" + version + "/" + kind
	def, ok := v.byGVK[gvk]
	if !ok {
		return fmt.Errorf("%s %s is not a kind of Kubernetes %s", apiVersion, kind, v.version)
	}
	v.mu.Lock()
	sch, ok := v.compiled[def]
	if !ok {
		sch, err = v.compiler.Compile("kubernetes.json#/definitions/" + def)
		if err != nil {
			v.mu.Unlock()
			return fmt.Errorf("compile the schema of %s: %w", gvk, err)
		}
		v.compiled[def] = sch
	}
	v.mu.Unlock()
	return sch.Validate(obj)
}

var overlays = []string{"overlays/single", "overlays/ha"}

// render builds an overlay as planbot builds a pull request's: krusty,
// root-only, plugins off, confined to this directory.
func render(t *testing.T, overlay string) []kustomize.Resource {
	t.Helper()
	rs, err := kustomize.Build(t.Context(), ".", overlay, kustomize.Options{})
	if err != nil {
		t.Fatalf("render %s: %v", overlay, err)
	}
	return rs
}

func TestOverlaysValidate(t *testing.T) {
	v := newValidator(t)
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			rs := render(t, overlay)
			var kinds []string
			for _, r := range rs {
				kinds = append(kinds, r.Kind)
				if err := v.validate(r.YAML); err != nil {
					t.Errorf("%s %s/%s does not validate against Kubernetes %s:\n%v\n%s", r.Kind, r.Namespace, r.Name, v.version, err, r.YAML)
				}
				if r.Kind != "Namespace" && r.Namespace != "planbot" {
					t.Errorf("%s %s is in namespace %q, want planbot", r.Kind, r.Name, r.Namespace)
				}
			}
			slices.Sort(kinds)
			want := []string{"Deployment", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}
			if overlay == "overlays/single" {
				want = append(want, "PersistentVolumeClaim")
				slices.Sort(want)
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("kinds = %q, want %q", kinds, want)
			}
		})
	}
}

func TestValidatorRejects(t *testing.T) {
	v := newValidator(t)
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: planbot
spec:
  replicas: %s
  selector:
    matchLabels: {app: planbot}
  template:
    metadata:
      labels: {app: planbot}
    spec:
      %s:
        - name: planbot
          image: planbot
`
	if err := v.validate(fmt.Sprintf(deployment, "2", "containers")); err != nil {
		t.Fatalf("a valid Deployment is rejected: %v", err)
	}
	tests := []struct {
		name, manifest, want string
	}{
		{name: "replicas a string", manifest: fmt.Sprintf(deployment, `"two"`, "containers"), want: "replicas"},
		{name: "unknown field", manifest: fmt.Sprintf(deployment, "2", "containerz"), want: "containerz"},
		{name: "missing required field", manifest: fmt.Sprintf(deployment, "2", "initContainers"), want: "containers"},
		{name: "unknown kind", manifest: "apiVersion: apps/v1\nkind: Deploymint\nmetadata: {name: x}\n", want: "Deploymint"},
		{name: "removed API version", manifest: "apiVersion: policy/v1alpha1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n", want: "policy/v1alpha1"},
		{name: "port not a number or name", manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: [80]\n", want: "port"},
		{name: "quantity a list", manifest: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec:\n  resources:\n    requests:\n      storage: [1Gi]\n", want: "storage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.validate(tt.manifest)
			if err == nil {
				t.Fatalf("validate accepted:\n%s", tt.manifest)
			}
			if !strings.Contains(fmt.Sprintf("%#v", err), tt.want) {
				t.Errorf("validate error does not mention %q:\n%v", tt.want, err)
			}
		})
	}
}

// deployment is what the checks of TestDeployment read of a Deployment.
type deployment struct {
	Spec struct {
		Replicas int
		Strategy struct{ Type string }
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int
				SecurityContext               struct {
					RunAsNonRoot   bool
					SeccompProfile struct{ Type string }
				}
				Containers []container
				Volumes    []volume
			}
		}
	}
}

// container is what the checks of TestDeployment read of a container.
type container struct {
	Env []struct {
		Name      string
		Value     string
		ValueFrom *struct {
			SecretKeyRef struct{ Name, Key string }
		}
	}
	SecurityContext struct {
		ReadOnlyRootFilesystem   bool
		AllowPrivilegeEscalation *bool
	}
	Resources struct {
		Requests, Limits map[string]string
	}
	LivenessProbe, ReadinessProbe struct {
		HTTPGet struct{ Path string } `json:"httpGet"`
	}
	VolumeMounts []struct{ Name, MountPath string }
}

// volume is what the checks of TestDeployment read of a pod's volume.
type volume struct {
	Name                  string
	EmptyDir              *struct{}
	PersistentVolumeClaim *struct{ ClaimName string }
	Secret                *struct{ SecretName string }
}

// podSettings is a container's environment by name, the Secrets its
// environment comes from by variable, its volume mounts by path and the
// pod's volumes by name ("emptyDir", "pvc CLAIM", "secret NAME").
type podSettings struct {
	env, secretEnv, mounts, volumes map[string]string
}

func settingsOf(c container, vols []volume) podSettings {
	p := podSettings{env: map[string]string{}, secretEnv: map[string]string{}, mounts: map[string]string{}, volumes: map[string]string{}}
	for _, e := range c.Env {
		p.env[e.Name] = e.Value
		if e.ValueFrom != nil {
			p.secretEnv[e.Name] = e.ValueFrom.SecretKeyRef.Name
		}
	}
	for _, m := range c.VolumeMounts {
		p.mounts[m.MountPath] = m.Name
	}
	for _, vol := range vols {
		switch {
		case vol.PersistentVolumeClaim != nil && vol.EmptyDir == nil:
			p.volumes[vol.Name] = "pvc " + vol.PersistentVolumeClaim.ClaimName
		case vol.EmptyDir != nil && vol.PersistentVolumeClaim == nil:
			p.volumes[vol.Name] = "emptyDir"
		case vol.Secret != nil:
			p.volumes[vol.Name] = "secret " + vol.Secret.SecretName
		default:
			p.volumes[vol.Name] = "?"
		}
	}
	return p
}

// check is a named setting that must hold.
type check struct {
	name string
	ok   bool
}

// overlayChecks are the settings that differ between the overlays.
func overlayChecks(overlay string, d deployment, p podSettings) []check {
	switch overlay {
	case "overlays/single":
		return []check{
			{"one replica", d.Spec.Replicas == 1},
			{"Recreate", d.Spec.Strategy.Type == "Recreate"},
			{"data on the PersistentVolumeClaim", p.volumes["data"] == "pvc planbot-data"},
			{"SQLite: no PLANBOT_DATABASE", p.secretEnv["PLANBOT_DATABASE"] == "" && p.env["PLANBOT_DATABASE"] == ""},
		}
	case "overlays/ha":
		return []check{
			{"two or more replicas", d.Spec.Replicas >= 2},
			{"rolling update", d.Spec.Strategy.Type == "RollingUpdate"},
			{"data on an emptyDir per replica", p.volumes["data"] == "emptyDir"},
			{"PLANBOT_DATABASE from a Secret", p.secretEnv["PLANBOT_DATABASE"] == "planbot-database"},
		}
	}
	return nil
}

// TestDeployment checks what the schemas cannot: the settings planbot
// needs to run safely and drain on shutdown.
func TestDeployment(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			var d deployment
			for _, r := range render(t, overlay) {
				if r.Kind == "Deployment" {
					if err := yaml.Unmarshal([]byte(r.YAML), &d); err != nil {
						t.Fatal(err)
					}
				}
			}
			pod := d.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			p := settingsOf(c, pod.Volumes)
			env, mounts, volumes := p.env, p.mounts, p.volumes

			drain, err := time.ParseDuration(env["PLANBOT_DRAIN_TIMEOUT"])
			if err != nil {
				t.Fatalf("PLANBOT_DRAIN_TIMEOUT: %v", err)
			}
			// The terraform kill grace and the HTTP shutdown take 10s each.
			if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= drain+20*time.Second {
				t.Errorf("terminationGracePeriodSeconds %v is not longer than the drain timeout %v plus 20s", grace, drain)
			}
			checks := []check{
				{"runs as non-root", pod.SecurityContext.RunAsNonRoot},
				{"seccomp RuntimeDefault", pod.SecurityContext.SeccompProfile.Type == "RuntimeDefault"},
				{"read-only root file system", c.SecurityContext.ReadOnlyRootFilesystem},
				{"no privilege escalation", c.SecurityContext.AllowPrivilegeEscalation != nil && !*c.SecurityContext.AllowPrivilegeEscalation},
				{"memory request and limit", c.Resources.Requests["memory"] != "" && c.Resources.Limits["memory"] != ""},
				{"liveness probe on /healthz", c.LivenessProbe.HTTPGet.Path == "/healthz"},
				{"readiness probe on /healthz", c.ReadinessProbe.HTTPGet.Path == "/healthz"},
				{"/tmp writable", volumes[mounts["/tmp"]] == "emptyDir" && env["TMPDIR"] == "/tmp"},
				{"data dir mounted", mounts[env["PLANBOT_DATA_DIR"]] == "data"},
				{"key and webhook secret from a Secret", volumes[mounts["/etc/planbot/secrets"]] == "secret planbot" &&
					strings.HasPrefix(env["PLANBOT_GITHUB_APP_KEY_FILE"], "/etc/planbot/secrets/") &&
					strings.HasPrefix(env["PLANBOT_WEBHOOK_SECRET_FILE"], "/etc/planbot/secrets/")},
				{"credentials dir from a Secret", volumes[mounts[env["PLANBOT_CREDENTIALS_DIR"]]] == "secret planbot-credentials"},
			}
			checks = append(checks, overlayChecks(overlay, d, p)...)
			for _, c := range checks {
				if !c.ok {
					t.Errorf("Deployment of %s: not %s", overlay, c.name)
				}
			}
		})
	}
}
