package workspaces

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

func TestSafeJoin(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "repo")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{filepath.Join(root, "a", "b"), filepath.Join(root, "envs", "dev"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"escape":       outside,            // absolute, outside
		"a/up":         "../../outside",    // relative, outside
		"a/etc":        "/etc",             // absolute, outside
		"inside":       "envs/dev",         // relative, inside
		"a/b/toenvs":   "../../envs",       // relative, inside
		"dangling":     "does-not-exist/x", // broken
		"a/b/rootlink": "..",               // inside, resolves to a
		"loop":         "loop",             // a cycle
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		rel  string
		want string // relative to root; "" means refused with EINVALID
	}{
		{name: "plain", rel: "a/b", want: "a/b"},
		{name: "dot", rel: ".", want: "."},
		{name: "missing tail", rel: "envs/new/overlay", want: "envs/new/overlay"},
		{name: "inner dotdot", rel: "a/../envs/dev", want: "envs/dev"},
		{name: "symlink inside", rel: "inside", want: "envs/dev"},
		{name: "symlink inside relative", rel: "a/b/toenvs/dev", want: "envs/dev"},
		{name: "symlink to parent inside", rel: "a/b/rootlink", want: "a"},
		{name: "parent", rel: "../x"},
		{name: "absolute", rel: "/etc"},
		{name: "climbs out", rel: "a/../../b"},
		{name: "only dotdot", rel: ".."},
		{name: "empty", rel: ""},
		{name: "nul", rel: "a\x00b"},
		{name: "symlink outside", rel: "escape"},
		{name: "symlink outside below", rel: "escape/file"},
		{name: "relative symlink outside", rel: "a/up/x"},
		{name: "symlink to etc", rel: "a/etc/passwd"},
		{name: "dangling symlink", rel: "dangling"},
		{name: "symlink loop", rel: "loop/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SafeJoin(root, tt.rel)
			if tt.want == "" {
				if code := planbot.ErrorCode(err); code != planbot.EINVALID {
					t.Fatalf("SafeJoin(%q) = %q, %v; want an %s error", tt.rel, got, err, planbot.EINVALID)
				}
				return
			}
			if err != nil {
				t.Fatalf("SafeJoin(%q): %v", tt.rel, err)
			}
			if diff := cmp.Diff(got, filepath.Join(root, filepath.FromSlash(tt.want))); diff != "" {
				t.Errorf("SafeJoin(%q) (-got +want):\n%s", tt.rel, diff)
			}
		})
	}
}

func TestSafeJoinSymlinkedRoot(t *testing.T) {
	parent := t.TempDir()
	real := filepath.Join(parent, "real")
	if err := os.MkdirAll(filepath.Join(real, "envs"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(parent, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	got, err := SafeJoin(link, "envs")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, filepath.Join(real, "envs")); diff != "" {
		t.Errorf("SafeJoin through a symlinked root (-got +want):\n%s", diff)
	}
}

func TestSlug(t *testing.T) {
	tests := []struct {
		name, in, prefix string
	}{
		{name: "dir", in: "envs/dev", prefix: "envs-dev-"},
		{name: "root", in: ".", prefix: "root-"},
		{name: "upper and spaces", in: "My Project!", prefix: "my-project-"},
		{name: "traversal", in: "../../etc", prefix: "etc-"},
		{name: "long", in: "a/very/long/project/name/that/goes/on/and/on/forever", prefix: "a-very-long-project-name-that-goes-on-an-"},
	}
	seen := make(map[string]string)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Slug(tt.in)
			if len(got) != len(tt.prefix)+8 || got[:len(tt.prefix)] != tt.prefix {
				t.Errorf("Slug(%q) = %q, want %q + 8 hex digits", tt.in, got, tt.prefix)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("Slug(%q) = Slug(%q) = %q", tt.in, other, got)
			}
			seen[got] = tt.in
		})
	}
	if Slug("envs/dev") == Slug("envs-dev") {
		t.Error("envs/dev and envs-dev share a slug")
	}
}

func TestParseNameStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []planbot.ChangedFile
		wantErr bool
	}{
		{name: "empty", in: "", want: []planbot.ChangedFile{}},
		{
			name: "all kinds",
			in:   "A\x00new.tf\x00D\x00old.tf\x00M\x00main.tf\x00T\x00link\x00R087\x00a.tf\x00b.tf\x00C100\x00c.tf\x00d.tf\x00",
			want: []planbot.ChangedFile{
				{Path: "new.tf", Status: "added"},
				{Path: "old.tf", Status: "removed"},
				{Path: "main.tf", Status: "modified"},
				{Path: "link", Status: "changed"},
				{Path: "b.tf", PreviousPath: "a.tf", Status: "renamed"},
				{Path: "d.tf", PreviousPath: "c.tf", Status: "copied"},
			},
		},
		{name: "path with newline", in: "M\x00we\nird.tf\x00", want: []planbot.ChangedFile{{Path: "we\nird.tf", Status: "modified"}}},
		{name: "truncated rename", in: "R100\x00a.tf\x00", wantErr: true},
		{name: "unknown status", in: "X\x00a.tf\x00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNameStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseNameStatus error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("ParseNameStatus (-got +want):\n%s", diff)
			}
		})
	}
}
