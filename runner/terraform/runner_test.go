package terraform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/planbot/planbot"
)

// versionScript writes an executable called name into a new directory
// that prints first on `version` (and nothing else), and returns its
// path.
func versionScript(t *testing.T, name, first string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	script := "#!/bin/sh\nif [ \"$1\" = version ] && [ -z \"$2\" ]; then printf '%s\\non linux_amd64\\n' '" + first + "'; fi\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindBinary(t *testing.T) {
	ctx := context.Background()
	fake, _, _ := fakeTerraform(t, "")
	tofu := versionScript(t, "tofu", "OpenTofu v1.10.6")
	other := versionScript(t, "terraform", "Pulumi v3")
	plain := filepath.Join(t.TempDir(), "terraform")
	if err := os.WriteFile(plain, []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	path := func(dirs ...string) string { return strings.Join(dirs, string(os.PathListSeparator)) }
	tests := []struct {
		name     string
		path     string
		explicit string
		want     Binary
		wantCode string
		wantMsg  string
	}{
		{name: "explicit", path: empty, explicit: fake, want: Binary{fake, planbot.EngineTerraform}},
		{name: "explicit OpenTofu", path: empty, explicit: tofu, want: Binary{tofu, planbot.EngineOpenTofu}},
		{name: "explicit name on PATH", path: path(empty, filepath.Dir(tofu)), explicit: "tofu", want: Binary{tofu, planbot.EngineOpenTofu}},
		{name: "explicit name missing", path: path(empty, filepath.Dir(fake)), explicit: "tofu", wantCode: planbot.ENOTFOUND, wantMsg: "https://opentofu.org/docs/intro/install/"},
		{name: "explicit not executable", path: filepath.Dir(fake), explicit: plain, wantCode: planbot.ENOTFOUND, wantMsg: "terraform"},
		{name: "explicit missing", path: filepath.Dir(fake), explicit: filepath.Join(empty, "terraform"), wantCode: planbot.ENOTFOUND, wantMsg: "terraform"},
		{name: "explicit neither engine", path: empty, explicit: other, wantCode: planbot.EINVALID, wantMsg: "neither terraform nor OpenTofu"},
		{name: "on PATH", path: path(empty, filepath.Dir(fake)), want: Binary{fake, planbot.EngineTerraform}},
		{name: "tofu on PATH is not the default", path: path(empty, filepath.Dir(tofu)), wantCode: planbot.ENOTFOUND, wantMsg: "no terraform binary on PATH"},
		{name: "none on PATH", path: empty, wantCode: planbot.ENOTFOUND, wantMsg: "no terraform binary on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			got, err := FindBinary(ctx, tt.explicit)
			if code := planbot.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("FindBinary error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if got != tt.want {
				t.Errorf("FindBinary = %+v, want %+v", got, tt.want)
			}
			if err != nil && !strings.Contains(planbot.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("error message %q lacks %q", planbot.ErrorMessage(err), tt.wantMsg)
			}
		})
	}
}

// TestFindBinaries finds the other engine on PATH next to the default
// one, and leaves it out when PATH has none or a binary of that name is
// another engine.
func TestFindBinaries(t *testing.T) {
	ctx := context.Background()
	fake, _, _ := fakeTerraform(t, "")
	tofu := versionScript(t, "tofu", "OpenTofu v1.10.6")
	fakeTofu := versionScript(t, "tofu", "Terraform v1.5.7")
	path := func(dirs ...string) string { return strings.Join(dirs, string(os.PathListSeparator)) }
	tests := []struct {
		name       string
		path       string
		explicit   string
		wantDef    Binary
		wantOthers map[planbot.Engine]string
	}{
		{name: "both on PATH", path: path(filepath.Dir(fake), filepath.Dir(tofu)), wantDef: Binary{fake, planbot.EngineTerraform}, wantOthers: map[planbot.Engine]string{planbot.EngineOpenTofu: tofu}},
		{name: "tofu is the default", path: path(filepath.Dir(fake), filepath.Dir(tofu)), explicit: "tofu", wantDef: Binary{tofu, planbot.EngineOpenTofu}, wantOthers: map[planbot.Engine]string{planbot.EngineTerraform: fake}},
		{name: "terraform only", path: filepath.Dir(fake), wantDef: Binary{fake, planbot.EngineTerraform}, wantOthers: map[planbot.Engine]string{}},
		{name: "a tofu that is terraform", path: path(filepath.Dir(fake), filepath.Dir(fakeTofu)), wantDef: Binary{fake, planbot.EngineTerraform}, wantOthers: map[planbot.Engine]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			def, others, err := FindBinaries(ctx, tt.explicit)
			if err != nil {
				t.Fatal(err)
			}
			if def != tt.wantDef {
				t.Errorf("default = %+v, want %+v", def, tt.wantDef)
			}
			if diff := cmp.Diff(others, tt.wantOthers); diff != "" {
				t.Errorf("others (-got +want):\n%s", diff)
			}
		})
	}
}

// TestMissingEngine plans a project whose engine has no binary: the
// error names the engine, the setting and how to install it.
func TestMissingEngine(t *testing.T) {
	fake, _, _ := fakeTerraform(t, "")
	r := &Runner{Bin: fake}
	res, err := r.Plan(context.Background(), t.TempDir(), "default", UseEngine(planbot.EngineOpenTofu))
	if planbot.ErrorCode(err) != planbot.ENOTFOUND || res.Status != planbot.StatusFailed {
		t.Fatalf("Plan = %v, %v; want a failed result and ENOTFOUND", res.Status, err)
	}
	for _, want := range []string{"OpenTofu", "`engine: tofu`", "no tofu binary on PATH", "https://opentofu.org/docs/intro/install/"} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("error %q lacks %q", res.Error, want)
		}
	}
	if _, err := r.Version(context.Background(), UseEngine(planbot.EngineTerraform)); err != nil {
		t.Errorf("Version of the default engine: %v", err)
	}
}

func TestBoundedBuffer(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		writes []string
		want   string
	}{
		{name: "fits", limit: 10, writes: []string{"abc", "def"}, want: "abcdef"},
		{name: "exactly", limit: 6, writes: []string{"abcdef"}, want: "abcdef"},
		{name: "head and tail", limit: 6, writes: []string{"abcd", "efghij"}, want: "abc\n… 4 bytes omitted …\nhij"},
		{name: "many small writes", limit: 4, writes: []string{"1", "2", "3", "4", "5", "6", "7"}, want: "12\n… 3 bytes omitted …\n67"},
		{name: "runes whole", limit: 6, writes: []string{"aé" + strings.Repeat("x", 10) + "éb"}, want: "aé\n… 10 bytes omitted …\néb"},
		{name: "tail rune not split", limit: 5, writes: []string{"aé" + strings.Repeat("x", 10) + "éb"}, want: "aé\n… 12 bytes omitted …\nb"},
		{name: "head rune not split", limit: 4, writes: []string{"aé" + strings.Repeat("x", 10) + "éb"}, want: "a\n… 14 bytes omitted …\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBoundedBuffer(tt.limit)
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			got := b.String()
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("String (-got +want):\n%s", diff)
			}
			if !utf8.ValidString(got) {
				t.Errorf("String is not valid UTF-8: %q", got)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	tests := []struct {
		name string
		json string
		want planbot.Changes
	}{
		{
			name: "every kind",
			json: `{"format_version":"1.2","resource_changes":[
				{"address":"a.create","change":{"actions":["create"]}},
				{"address":"a.update","change":{"actions":["update"]}},
				{"address":"a.delete","change":{"actions":["delete"]}},
				{"address":"a.dbc","change":{"actions":["delete","create"]}},
				{"address":"a.cbd","change":{"actions":["create","delete"]}},
				{"address":"a.noop","change":{"actions":["no-op"]}},
				{"address":"data.a.read","mode":"data","change":{"actions":["read"]}},
				{"address":"a.imported","change":{"actions":["no-op"],"importing":{"id":"i-1"}}},
				{"address":"a.new","previous_address":"a.old","change":{"actions":["update"]}},
				{"address":"a.forgotten","change":{"actions":["forget"]}}
			],
			"resource_drift":[
				{"address":"a.drifted","change":{"actions":["update"]}},
				{"address":"a.same","change":{"actions":["no-op"]}}
			],
			"output_changes":{"same":{"actions":["no-op"]}}}`,
			want: planbot.Changes{
				Add: 1, Change: 2, Destroy: 1, Replace: 2, Import: 1, Move: 1,
				Destroys: []string{"a.delete"},
				Replaces: []string{"a.cbd", "a.dbc"},
				Moves:    []string{"a.old -> a.new"},
				Imports:  []string{"a.imported"},
				Drift:    []string{"a.drifted"},
			},
		},
		{
			name: "outputs",
			json: `{"format_version":"1.2","output_changes":{"same":{"actions":["no-op"]},"new":{"actions":["create"]}}}`,
			want: planbot.Changes{OutputsChanged: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p tfjson.Plan
			if err := p.UnmarshalJSON([]byte(tt.json)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(changes(&p), tt.want); diff != "" {
				t.Errorf("changes (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		changes planbot.Changes
		want    string
	}{
		{name: "plan line", text: "  # a will be created\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n", want: "Plan: 1 to add, 0 to change, 0 to destroy."},
		{name: "imports", text: "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.\n", want: "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."},
		{name: "no changes", text: "No changes. Your infrastructure matches the configuration.\n", want: "No changes."},
		{name: "outputs only", text: "Changes to Outputs:\n  + o = 1\n", changes: planbot.Changes{OutputsChanged: true}, want: "No resource changes, outputs change."},
		{name: "not terraform's line", text: `  + input = "Plan: 9 to add, 9 to change, 9 to destroy. x"` + "\nPlan: 1 to add, 0 to change, 0 to destroy.\n", want: "Plan: 1 to add, 0 to change, 0 to destroy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(summary(tt.text, tt.changes), tt.want); diff != "" {
				t.Errorf("summary (-got +want):\n%s", diff)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	want := []string{"fmt", "-no-color", "-check", "-diff", "-list=true", "-write=false", "-recursive=false"}
	if diff := cmp.Diff(fmtArgs(), want); diff != "" {
		t.Errorf("fmtArgs (-got +want):\n%s", diff)
	}
	for _, tt := range []struct {
		timeout string
		r       Runner
	}{
		{"300s", Runner{}},
		{"90s", Runner{LockTimeout: 90e9}},
	} {
		if got := tt.r.lockTimeout(); got != tt.timeout {
			t.Errorf("lockTimeout() = %q, want %q", got, tt.timeout)
		}
	}
}
