package kustomize

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/golden"

	"github.com/google/go-cmp/cmp"
)

func TestUnifiedMatchesDiffU(t *testing.T) {
	lines := func(n int, f func(i int) string) string {
		var sb strings.Builder
		for i := range n {
			sb.WriteString(f(i) + "\n")
		}
		return sb.String()
	}
	plain := lines(30, func(i int) string { return fmt.Sprintf("line %d", i) })
	tests := []struct {
		name string
		a, b string
	}{
		{name: "one change in the middle", a: plain, b: strings.Replace(plain, "line 15\n", "line fifteen\n", 1)},
		{name: "change at the start", a: plain, b: strings.Replace(plain, "line 0\n", "first\n", 1)},
		{name: "change at the end", a: plain, b: strings.Replace(plain, "line 29\n", "last\n", 1)},
		{name: "two changes merged into one hunk", a: plain, b: strings.NewReplacer("line 10\n", "ten\n", "line 16\n", "sixteen\n").Replace(plain)},
		{name: "two changes in two hunks", a: plain, b: strings.NewReplacer("line 10\n", "ten\n", "line 17\n", "seventeen\n").Replace(plain)},
		{name: "insertion", a: plain, b: strings.Replace(plain, "line 5\n", "line 5\nnew a\nnew b\n", 1)},
		{name: "deletion", a: plain, b: strings.Replace(plain, "line 5\nline 6\n", "", 1)},
		{name: "from empty", a: "", b: "a\nb\n"},
		{name: "to empty", a: "a\nb\n", b: ""},
		{name: "one line each", a: "a\n", b: "b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			if err := os.WriteFile(pa, []byte(tt.a), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(pb, []byte(tt.b), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("diff", "-U3", pa, pb).Output()
			if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
				t.Fatalf("diff: %v", err)
			}
			// Drop the --- and +++ header lines.
			want := string(out)
			for range 2 {
				_, want, _ = strings.Cut(want, "\n")
			}
			if diff := cmp.Diff(unified(tt.a, tt.b), want); diff != "" {
				t.Errorf("unified mismatch with diff -U3 (-got +want):\n%s", diff)
			}
		})
	}
	if got := unified(plain, plain); got != "" {
		t.Errorf("unified of equal texts = %q, want empty", got)
	}
}

func TestDiffMatching(t *testing.T) {
	cm := func(name, body string) Resource {
		return Resource{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: name, YAML: "name: " + name + "\n" + body}
	}
	secret := func(name string, keys map[string]string) Resource {
		return Resource{Version: "v1", Kind: "Secret", Namespace: "ns", Name: name, YAML: "name: " + name + "\n", SecretKeys: keys}
	}
	deploy := func(name, body string) Resource {
		return Resource{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: name, YAML: body}
	}
	tests := []struct {
		name       string
		base, head []Resource
		want       []changeSummary
	}{
		{
			name: "equal",
			base: []Resource{cm("a", "x\n"), deploy("d", "x\n")},
			head: []Resource{deploy("d", "x\n"), cm("a", "x\n")},
		},
		{
			name: "added, removed and changed, sorted",
			base: []Resource{deploy("z", "1\n"), cm("old", "x\n"), deploy("a", "1\n")},
			head: []Resource{deploy("z", "2\n"), cm("new", "x\n"), deploy("a", "1\n")},
			want: []changeSummary{
				{"", "ConfigMap", "ns", "new", "added"},
				{"", "ConfigMap", "ns", "old", "removed"},
				{"apps", "Deployment", "ns", "z", "changed"},
			},
		},
		{
			name: "generated ConfigMap renamed by its hash",
			base: []Resource{cm("app-files-26hm42gb5f", "a\n")},
			head: []Resource{cm("app-files-8h2kc7bg9m", "b\n")},
			want: []changeSummary{{"", "ConfigMap", "ns", "app-files-8h2kc7bg9m", "changed"}},
		},
		{
			name: "generated Secret renamed by its hash",
			base: []Resource{secret("db-creds-26hm42gb5f", map[string]string{"password": "1"})},
			head: []Resource{secret("db-creds-8h2kc7bg9m", map[string]string{"password": "2"})},
			want: []changeSummary{{"", "Secret", "ns", "db-creds-8h2kc7bg9m", "changed"}},
		},
		{
			name: "ambiguous hash renames are not paired",
			base: []Resource{cm("c-26hm42gb5f", "a\n"), cm("c-b5m2t7f8k9", "a\n")},
			head: []Resource{cm("c-8h2kc7bg9m", "b\n")},
			want: []changeSummary{
				{"", "ConfigMap", "ns", "c-26hm42gb5f", "removed"},
				{"", "ConfigMap", "ns", "c-8h2kc7bg9m", "added"},
				{"", "ConfigMap", "ns", "c-b5m2t7f8k9", "removed"},
			},
		},
		{
			name: "names that are not generator hashes are not paired",
			base: []Resource{cm("web-v1", "a\n")},
			head: []Resource{cm("web-v2", "a\n")},
			want: []changeSummary{
				{"", "ConfigMap", "ns", "web-v1", "removed"},
				{"", "ConfigMap", "ns", "web-v2", "added"},
			},
		},
		{
			name: "same name in another namespace is another resource",
			base: []Resource{cm("a", "x\n")},
			head: []Resource{{Version: "v1", Kind: "ConfigMap", Namespace: "other", Name: "a", YAML: "name: a\nx\n"}},
			want: []changeSummary{
				{"", "ConfigMap", "ns", "a", "removed"},
				{"", "ConfigMap", "other", "a", "added"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := Diff(tt.base, tt.head)
			if diff := cmp.Diff(summarize(&md), tt.want); diff != "" {
				t.Errorf("Diff mismatch (-got +want):\n%s", diff)
			}
			var added, changed, removed int
			for _, c := range tt.want {
				switch c.Action {
				case ActionAdded:
					added++
				case ActionChanged:
					changed++
				case ActionRemoved:
					removed++
				}
			}
			if md.Added != added || md.Changed != changed || md.Removed != removed {
				t.Errorf("counts = %d/%d/%d, want %d/%d/%d", md.Added, md.Changed, md.Removed, added, changed, removed)
			}
		})
	}
}

func TestSecretDiffShowsOnlyKeys(t *testing.T) {
	base := Resource{Kind: "Secret", Name: "s", YAML: "kind: Secret\nmetadata:\n  name: s\ntype: Opaque\n",
		SecretKeys: map[string]string{"a": "1", "b": "2", "c": "3"}}
	head := Resource{Kind: "Secret", Name: "s", YAML: "kind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/basic-auth\n",
		SecretKeys: map[string]string{"a": "1", "b": "changed", "d": "4"}}
	md := Diff([]Resource{base}, []Resource{head})
	want := "b: (changed)\nc: (removed)\nd: (added)\n" +
		"@@ -1,4 +1,4 @@\n kind: Secret\n metadata:\n   name: s\n-type: Opaque\n+type: kubernetes.io/basic-auth\n"
	if len(md.Resources) != 1 {
		t.Fatalf("got %d changes, want 1", len(md.Resources))
	}
	if diff := cmp.Diff(md.Resources[0].Diff, want); diff != "" {
		t.Errorf("Secret diff mismatch (-got +want):\n%s", diff)
	}
	for _, v := range []string{"changed", "4"} {
		if strings.Contains(strings.ReplaceAll(md.Resources[0].Diff, "(changed)", ""), ": "+v) {
			t.Errorf("Secret diff holds the digest %q", v)
		}
	}
}

func TestDiffGolden(t *testing.T) {
	base := extract(t, "app.txtar")
	head := copyTree(t, base)
	edit(t, head, "k8s/base/deployment.yaml", "replicas: 2", "replicas: 4")
	edit(t, head, "k8s/base/deployment.yaml", "web:1.4.0", "web:1.5.0")
	edit(t, head, "k8s/base/configmap.yaml", `FEATURE_X: "off"`, `FEATURE_X: "on"`)
	edit(t, head, "k8s/base/configmap.yaml", `TIMEOUT: "30s"`, "RETRIES: \"5\"\n  TIMEOUT: \"30s\"")
	for _, dir := range []string{"k8s/overlays/staging", "k8s/overlays/prod"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, err := Plan(context.Background(), base, head, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "%s: %s (%s)\n", res.Project.Dir, res.Summary, res.Status)
			for _, r := range res.Manifest.Resources {
				fmt.Fprintf(&sb, "\n### %s %s %s/%s (%s)\n%s", r.Group, r.Kind, r.Namespace, r.Name, r.Action, r.Diff)
			}
			checkGolden(t, filepath.Join("testdata", "diff-"+filepath.Base(dir)+".golden"), sb.String())
		})
	}
}

func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	golden.Check(t, file, got)
}
