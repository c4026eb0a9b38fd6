package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/treetest"
)

func TestDetect(t *testing.T) {
	root := extract(t, "app.txtar")
	both := []string{"k8s/overlays/prod", "k8s/overlays/staging"}
	tests := []detectCase{
		{name: "base resource", changed: []string{"k8s/base/deployment.yaml"}, want: both},
		{name: "base kustomization", changed: []string{"k8s/base/kustomization.yaml"}, want: both},
		{name: "generator file", changed: []string{"k8s/base/files/app.properties"}, want: both},
		{name: "staging patch", changed: []string{"k8s/overlays/staging/debug.yaml"}, want: []string{"k8s/overlays/staging"}},
		{name: "new file in prod", changed: []string{"k8s/overlays/prod/extra.yaml"}, want: []string{"k8s/overlays/prod"}},
		{name: "component reaches prod only", changed: []string{"k8s/components/monitoring/kustomization.yaml"}, want: []string{"k8s/overlays/prod"}},
		{name: "standalone kustomization", changed: []string{"apps/other/cm.yaml"}, want: []string{"apps/other"}},
		{name: "two apps", changed: []string{"apps/other/cm.yaml", "k8s/overlays/staging/kustomization.yaml"}, want: []string{"apps/other", "k8s/overlays/staging"}},
		{name: "outside any kustomization", changed: []string{"README.md", "k8s/notes.txt"}},
		{name: "nothing changed"},
	}
	checkDetect(t, root, tests)
}

// detectCase is a change of a tree and the overlays it marks.
type detectCase struct {
	name    string
	changed []string
	want    []string
}

// checkDetect runs Detect on root for each case.
func checkDetect(t *testing.T, root string, tests []detectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(root, tt.changed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Detect(%q) mismatch (-got +want):\n%s", tt.changed, diff)
			}
		})
	}
}

func TestDetectReferencedFileOutsideDir(t *testing.T) {
	// A kustomization that names a file in a directory that is not itself
	// a kustomization is marked when that file changes, and so are the
	// legacy fields (bases, patchesStrategicMerge, env files).
	root := treetest.New(t, map[string]string{
		"shared/ns.yaml":           "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
		"lib/kustomization.yaml":   "resources:\n- ns.yaml\n",
		"lib/ns.yaml":              "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lib\n",
		"env/a/kustomization.yaml": "bases:\n- ../../lib\npatchesStrategicMerge:\n- patches/*.yaml\nconfigMapGenerator:\n- name: c\n  envs:\n  - ../../shared/a.env\n",
		"env/b/kustomization.yaml": "resources:\n- ../../lib\n",
	})
	tests := []detectCase{
		{name: "legacy bases", changed: []string{"lib/ns.yaml"}, want: []string{"env/a", "env/b"}},
		{name: "glob patch", changed: []string{"env/a/patches/p1.yaml"}, want: []string{"env/a"}},
		{name: "env file outside", changed: []string{"shared/a.env"}, want: []string{"env/a"}},
		{name: "unreferenced shared file", changed: []string{"shared/ns.yaml"}},
	}
	checkDetect(t, root, tests)
}

func TestDetectGitChange(t *testing.T) {
	// The changed files come from a real git repository, as the runner
	// gets them.
	root := extract(t, "app.txtar")
	git(t, root, "init", "-q", "-b", "main")
	git(t, root, "add", "-A")
	git(t, root, "commit", "-q", "-m", "base")
	edit(t, root, "k8s/base/deployment.yaml", "replicas: 2", "replicas: 3")
	changed := strings.Fields(git(t, root, "diff", "--name-only", "HEAD"))
	got, err := Detect(root, changed)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"k8s/overlays/prod", "k8s/overlays/staging"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Detect(%q) mismatch (-got +want):\n%s", changed, diff)
	}
}

func TestDetectDeleted(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	if err := os.RemoveAll(filepath.Join(head, "k8s/overlays/staging")); err != nil {
		t.Fatal(err)
	}
	changed := []string{"k8s/overlays/staging/kustomization.yaml", "k8s/overlays/staging/debug.yaml"}
	got, err := DetectDeleted(base, head, changed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{"k8s/overlays/staging"}); diff != "" {
		t.Errorf("DetectDeleted mismatch (-got +want):\n%s", diff)
	}
	onHead, err := Detect(head, changed)
	if err != nil {
		t.Fatal(err)
	}
	if len(onHead) != 0 {
		t.Errorf("Detect on head = %q, want none", onHead)
	}
}

func TestDetectBrokenKustomization(t *testing.T) {
	// A kustomization that does not parse is still detected, so that its
	// plan can report the error.
	root := extract(t, "app.txtar")
	write(t, root, "k8s/overlays/staging/kustomization.yaml", "resources: [unterminated\n")
	got, err := Detect(root, []string{"k8s/overlays/staging/kustomization.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{"k8s/overlays/staging"}); diff != "" {
		t.Errorf("Detect mismatch (-got +want):\n%s", diff)
	}
	if _, err := Build(t.Context(), root, "k8s/overlays/staging", Options{}); err == nil || !strings.Contains(err.Error(), "parse kustomization k8s/overlays/staging/kustomization.yaml") {
		t.Errorf("Build error = %v, want a parse error naming the file", err)
	}
}

// TestOverlays lists the leaf overlays of a tree: included kustomizations
// and components are not overlays.
func TestOverlays(t *testing.T) {
	root := t.TempDir()
	treetest.Write(t, root, map[string]string{
		"base/kustomization.yaml":          "resources:\n  - cm.yaml\n",
		"base/cm.yaml":                     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		"comp/kustomization.yaml":          "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
		"overlays/dev/kustomization.yaml":  "resources:\n  - ../../base\ncomponents:\n  - ../../comp\n",
		"overlays/prod/kustomization.yaml": "resources:\n  - ../../base\n",
		"standalone/kustomization.yml":     "resources: []\n",
	})
	got, err := Overlays(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"overlays/dev", "overlays/prod", "standalone"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Overlays (-got +want):\n%s", diff)
	}
}

func TestIsKustomizationFile(t *testing.T) {
	for p, want := range map[string]bool{
		"kustomization.yaml":                  true,
		"k8s/overlays/prod/kustomization.yml": true,
		"k8s/base/Kustomization":              true,
		"k8s/base/kustomization.yaml.bak":     false,
		"k8s/kustomization/deployment.yaml":   false,
		"main.tf":                             false,
	} {
		if got := IsKustomizationFile(p); got != want {
			t.Errorf("IsKustomizationFile(%q) = %v, want %v", p, got, want)
		}
	}
}
