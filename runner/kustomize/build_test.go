package kustomize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot"
)

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// links maps a link under the workspace to its target, relative to
		// the link's directory.
		links map[string]string
		dir   string
		want  string // substring of the error
		code  string // planbot error code; "" when krusty refuses
	}{
		{
			name:  "parent escape in resources",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- ../../outside\n"},
			dir:   "o",
			want:  "path escapes the workspace root: ../../outside (resources of o/kustomization.yaml)",
			code:  planbot.EINVALID,
		},
		{
			name:  "parent escape in a base's base",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- ../b\n", "ws/b/kustomization.yaml": "bases:\n- ../../outside\n"},
			dir:   "o",
			want:  "path escapes the workspace root: ../../outside (resources of b/kustomization.yaml)",
			code:  planbot.EINVALID,
		},
		{
			name:  "absolute path",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- /etc/kubernetes\n"},
			dir:   "o",
			want:  "path escapes the workspace root: /etc/kubernetes",
			code:  planbot.EINVALID,
		},
		{
			name: "overlay outside the root",
			dir:  "../outside",
			want: "overlay ../outside escapes the workspace root",
			code: planbot.EINVALID,
		},
		{
			name:  "symlinked resource directory",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- link\n"},
			links: map[string]string{"ws/o/link": "../../outside"},
			dir:   "o",
			want:  "path escapes the workspace root through a symbolic link: link (resources of o/kustomization.yaml)",
			code:  planbot.EINVALID,
		},
		{
			name:  "symlinked patch file",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: p.yaml\n", "ws/o/cm.yaml": cmYAML},
			links: map[string]string{"ws/o/p.yaml": "../../outside/secret.yaml"},
			dir:   "o",
			want:  "path escapes the workspace root through a symbolic link: p.yaml (patches of o/kustomization.yaml)",
			code:  planbot.EINVALID,
		},
		{
			name:  "symlinked overlay",
			links: map[string]string{"ws/o": "../outside"},
			dir:   "o",
			want:  "overlay o escapes the workspace root through a symbolic link",
			code:  planbot.EINVALID,
		},
		{
			name:  "file outside the kustomization root",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- ../shared/cm.yaml\n", "ws/shared/cm.yaml": cmYAML},
			dir:   "o",
			want:  "security; file 'shared/cm.yaml' is not in or below 'o'",
		},
		{
			name:  "https URL",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6\n"},
			dir:   "o",
			want:  "remote bases are not allowed: https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6",
			code:  planbot.EINVALID,
		},
		{
			name:  "github shorthand in bases",
			files: map[string]string{"ws/o/kustomization.yaml": "bases:\n- github.com/example/infra/k8s/base?ref=main\n"},
			dir:   "o",
			want:  "remote bases are not allowed: github.com/example/infra/k8s/base?ref=main",
			code:  planbot.EINVALID,
		},
		{
			name:  "scp-like git address in components",
			files: map[string]string{"ws/o/kustomization.yaml": "components:\n- git@github.com:example/infra.git//k8s/component\n"},
			dir:   "o",
			want:  "remote bases are not allowed: git@github.com:example/infra.git//k8s/component",
			code:  planbot.EINVALID,
		},
		{
			name:  "missing resource",
			files: map[string]string{"ws/o/kustomization.yaml": "resources:\n- example.com/infra/base\n"},
			dir:   "o",
			want:  "example.com/infra/base does not exist in the workspace; remote bases are not allowed",
			code:  planbot.EINVALID,
		},
		{
			name: "exec KRM function",
			files: map[string]string{
				"ws/o/kustomization.yaml": "generators:\n- gen.yaml\n",
				"ws/o/gen.yaml":           "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./gen.sh\n",
				"ws/o/gen.sh":             "#!/bin/sh\ntouch /tmp/planbot-pwned\n",
			},
			dir:  "o",
			want: "KRM functions and exec plugins are not allowed: example.com/v1 Gen has annotation config.kubernetes.io/function: gen.yaml (generators of o/kustomization.yaml)",
			code: planbot.EINVALID,
		},
		{
			name: "inline container function",
			files: map[string]string{
				"ws/o/kustomization.yaml": "transformers:\n- |\n  apiVersion: example.com/v1\n  kind: T\n  metadata:\n    name: t\n    annotations:\n      config.kubernetes.io/function: |\n        container:\n          image: example.com/t:1\n",
			},
			dir:  "o",
			want: "KRM functions and exec plugins are not allowed: example.com/v1 T has annotation config.kubernetes.io/function (inline transformers of o/kustomization.yaml)",
			code: planbot.EINVALID,
		},
		{
			name: "legacy exec plugin",
			files: map[string]string{
				"ws/o/kustomization.yaml": "generators:\n- gen.yaml\n",
				"ws/o/gen.yaml":           "apiVersion: someteam.example.com/v1\nkind: SecretsFromDatabase\nmetadata:\n  name: g\n",
			},
			dir:  "o",
			want: "external plugins disabled; unable to load external plugin 'SecretsFromDatabase'",
		},
		{
			name: "exec function from a generator kustomization",
			files: map[string]string{
				"ws/o/kustomization.yaml":      "generators:\n- gens\n",
				"ws/o/gens/kustomization.yaml": "resources:\n- gen.yaml\n",
				"ws/o/gens/gen.yaml":           "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: g\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./gen.sh\n",
			},
			dir:  "o",
			want: "external plugins disabled; unable to load external plugin 'Gen'",
		},
		{
			name:  "helm chart",
			files: map[string]string{"ws/o/kustomization.yaml": "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n  version: 1.0.0\n"},
			dir:   "o",
			want:  "helm charts are not allowed (o/kustomization.yaml)",
			code:  planbot.EINVALID,
		},
		{
			name: "no kustomization",
			dir:  "missing",
			want: "no kustomization in missing",
			code: planbot.ENOTFOUND,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			write(t, tmp, "outside/kustomization.yaml", "resources:\n- secret.yaml\n")
			write(t, tmp, "outside/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: host\nstringData:\n  key: do-not-read\n")
			if err := os.MkdirAll(filepath.Join(tmp, "ws"), 0o755); err != nil {
				t.Fatal(err)
			}
			for p, c := range tt.files {
				write(t, tmp, p, c)
			}
			for link, target := range tt.links {
				p := filepath.Join(tmp, filepath.FromSlash(link))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Build(context.Background(), filepath.Join(tmp, "ws"), tt.dir, Options{})
			if err == nil {
				t.Fatalf("Build succeeded with %d resources, want an error containing %q", len(res), tt.want)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "do-not-read") {
				t.Errorf("error holds content from outside the workspace: %q", err)
			}
			if tt.code != "" {
				if got := planbot.ErrorCode(err); got != tt.code {
					t.Errorf("ErrorCode = %q, want %q", got, tt.code)
				}
			}
			if _, err := os.Stat("/tmp/planbot-pwned"); err == nil {
				t.Errorf("an exec function ran")
			}
		})
	}
}

// cmYAML is a small ConfigMap.
const cmYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n"

func TestBuildLimits(t *testing.T) {
	root := extract(t, "app.txtar")
	ctx := context.Background()
	if _, err := Build(ctx, root, "k8s/overlays/prod", Options{MaxOutputBytes: 200}); err == nil || !strings.Contains(err.Error(), "rendered output exceeds the limit of 200 bytes") {
		t.Errorf("size limit: err = %v", err)
	}
	if _, err := Build(ctx, root, "k8s/overlays/prod", Options{Timeout: time.Nanosecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("time limit: err = %v, want context.DeadlineExceeded", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Build(cancelled, root, "k8s/overlays/prod", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if _, err := Plan(cancelled, root, root, "k8s/overlays/prod", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Plan cancelled: err = %v, want context.Canceled", err)
	}
}

func TestBuildOutput(t *testing.T) {
	root := extract(t, "app.txtar")
	res, err := Build(context.Background(), root, "k8s/overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Group+"/"+r.Version+" "+r.Kind+" "+r.Namespace+"/"+hashSuffix.ReplaceAllString(r.Name, "-HASH"))
	}
	want := "apps/v1 Deployment prod/web, /v1 Service prod/web, /v1 ConfigMap prod/web-config, /v1 ConfigMap prod/app-files-HASH, /v1 Secret prod/db-creds-HASH"
	if strings.Join(got, ", ") != want {
		t.Errorf("resources = %s\nwant        %s", strings.Join(got, ", "), want)
	}
	for _, r := range res {
		if !strings.Contains(r.YAML, "prometheus.io/scrape: \"true\"") {
			t.Errorf("%s %s lacks the component's annotation:\n%s", r.Kind, r.Name, r.YAML)
		}
		if r.Kind == "Secret" && (strings.Contains(r.YAML, "\ndata:") || strings.Contains(r.YAML, "stringData") || len(r.SecretKeys) != 2) {
			t.Errorf("Secret YAML holds data or keys are missing: %v\n%s", r.SecretKeys, r.YAML)
		}
	}
}

// TestBuildWaitsForRenderPlace checks that a build waits for a place in
// Options.Renders: with none free, it renders nothing and gives up when its
// context ends.
func TestBuildWaitsForRenderPlace(t *testing.T) {
	root := t.TempDir()
	write(t, root, "app/kustomization.yaml", "resources:\n  - cm.yaml\n")
	write(t, root, "app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
	renders := make(chan struct{}, 1)
	renders <- struct{}{} // the one place is taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, root, "app", Options{Renders: renders}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Build with no place free = %v, want context.Canceled", err)
	}
	<-renders
	res, err := Build(context.Background(), root, "app", Options{Renders: renders})
	if err != nil || len(res) != 1 {
		t.Fatalf("Build = %d resources, %v; want 1", len(res), err)
	}
	if len(renders) != 0 {
		t.Errorf("the build kept its place after it returned")
	}
}
