package terraform

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/treetest"
)

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// moduleConfig keeps terraform_data.a in a local module, which init
// installs.
var moduleConfig = map[string]string{
	"main.tf":     "module \"m\" {\n  source = \"./mod\"\n}\n",
	"mod/main.tf": dataA,
}

// portableCases are configurations whose saved plan is applied in a fresh
// checkout.
var portableCases = []struct {
	name      string
	files     map[string]string
	workspace string
	// state is the state file the apply writes, relative to the checkout.
	state string
}{
	{name: "module", files: moduleConfig, workspace: "", state: "terraform.tfstate"},
	{name: "workspace", files: map[string]string{"main.tf": dataA}, workspace: "staging",
		state: "terraform.tfstate.d/staging/terraform.tfstate"},
	{name: "module in workspace", files: moduleConfig, workspace: "staging",
		state: "terraform.tfstate.d/staging/terraform.tfstate"},
}

// planElsewhere plans files in workspace in a directory of its own and
// returns the plan and the saved plan file's content, as another planbot
// process would have stored them.
func planElsewhere(t *testing.T, r *Runner, files map[string]string, workspace string) (planbot.Result, []byte) {
	t.Helper()
	dir := t.TempDir()
	treetest.Write(t, dir, files)
	res, err := r.Plan(t.Context(), dir, workspace)
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}
	data, err := os.ReadFile(res.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

// freshCheckout returns a new directory with files and nothing terraform
// made: no .terraform, no state.
func freshCheckout(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	treetest.Write(t, dir, files)
	return dir
}

func TestPrepareAppliesPlanFromAnotherDir(t *testing.T) {
	forEachEngine(t, testPrepareAppliesPlanFromAnotherDir)
}

func testPrepareAppliesPlanFromAnotherDir(t *testing.T, r *Runner) {
	for _, tt := range portableCases {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			res, data := planElsewhere(t, r, tt.files, tt.workspace)

			dir := freshCheckout(t, tt.files)
			if err := r.Prepare(ctx, dir, tt.workspace); err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, PlanFileName), data, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := r.Apply(ctx, dir, PlanFileName, res.PlanSHA256)
			if err != nil {
				t.Fatalf("Apply: %v\n%s", err, out)
			}
			contains(t, "output", out, []string{"Apply complete! Resources: 1 added, 0 changed, 0 destroyed."})
			if !exists(filepath.Join(dir, tt.state)) {
				t.Errorf("Apply wrote no state at %s", tt.state)
			}
			if tt.state != "terraform.tfstate" && exists(filepath.Join(dir, "terraform.tfstate")) {
				t.Errorf("Apply in workspace %q wrote the default workspace's state", tt.workspace)
			}
			again, err := r.Plan(ctx, dir, tt.workspace)
			if err != nil || again.Status != planbot.StatusNoChange {
				t.Errorf("Plan after apply = %q, %v; want no changes: %s", again.Status, err, again.Error)
			}
		})
	}
}

// TestApplyWithoutPrepare applies a plan of a non-default workspace in a
// fresh checkout that was not prepared. Terraform itself would apply it
// to the default workspace's state: a plan file carries a snapshot of the
// configuration, so a configuration with only built-in providers needs no
// init, and nothing checks the workspace.
func TestApplyWithoutPrepare(t *testing.T) {
	r := realRunner(t)
	tests := []struct {
		name      string
		files     map[string]string
		workspace string
		wantCode  string
		wantText  []string // in the error
	}{
		{name: "workspace not selected", files: map[string]string{"main.tf": dataA}, workspace: "staging",
			wantCode: planbot.ECONFLICT, wantText: []string{`workspace "staging"`, `workspace "default" is selected`}},
		{name: "module in workspace", files: moduleConfig, workspace: "staging",
			wantCode: planbot.ECONFLICT, wantText: []string{`workspace "staging"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			res, data := planElsewhere(t, r, tt.files, tt.workspace)
			dir := freshCheckout(t, tt.files)
			if err := os.WriteFile(filepath.Join(dir, PlanFileName), data, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := r.Apply(ctx, dir, PlanFileName, res.PlanSHA256)
			if err == nil {
				t.Fatalf("Apply without Prepare succeeded:\n%s", out)
			}
			if got := planbot.ErrorCode(err); got != tt.wantCode {
				t.Errorf("Apply error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if out != "" {
				t.Errorf("refused Apply has output %q", out)
			}
			contains(t, "error", err.Error(), tt.wantText)
			for _, state := range []string{"terraform.tfstate", "terraform.tfstate.d"} {
				if exists(filepath.Join(dir, state)) {
					t.Errorf("failed Apply wrote %s", state)
				}
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	r := realRunner(t)
	tests := []struct {
		name      string
		files     map[string]string
		dir       string // relative to a temp dir; "" for the temp dir
		workspace string
		wantCode  string
		wantText  string
	}{
		{name: "invalid workspace", files: map[string]string{"main.tf": dataA}, workspace: "-chdir=/",
			wantCode: planbot.EINVALID, wantText: "invalid workspace name"},
		{name: "missing directory", dir: "nope", wantCode: planbot.ENOTFOUND, wantText: "does not exist"},
		{name: "module missing", files: map[string]string{"main.tf": "module \"m\" {\n  source = \"./gone\"\n}\n"},
			wantCode: planbot.EINTERNAL, wantText: "terraform init failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			treetest.Write(t, dir, tt.files)
			err := r.Prepare(t.Context(), filepath.Join(dir, tt.dir), tt.workspace)
			if got := planbot.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Prepare error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Prepare error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

// TestPlanSelectsDefault checks that planning the default workspace in a
// directory last used for another one plans (and saves) the default
// workspace.
func TestPlanSelectsDefault(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	for _, ws := range []string{"staging", ""} {
		res, err := r.Plan(ctx, dir, ws)
		if err != nil || res.Status != planbot.StatusPlanned {
			t.Fatalf("Plan(%q) = %q, %v: %s", ws, res.Status, err, res.Error)
		}
		data, err := os.ReadFile(res.PlanFile)
		if err != nil {
			t.Fatal(err)
		}
		want := ws
		if want == "" {
			want = "default"
		}
		if got, err := planWorkspace(data); err != nil || got != want {
			t.Errorf("Plan(%q) saved a plan for workspace %q, %v; want %q", ws, got, err, want)
		}
	}
}

func TestPlanWorkspaceMalformed(t *testing.T) {
	zipOf := func(name string, body []byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want string // workspace; "" when an error is expected
	}{
		{name: "not a zip", data: []byte("plan")},
		{name: "no tfplan", data: zipOf("tfstate", []byte{0x08, 0x03})},
		{name: "no backend", data: zipOf("tfplan", []byte{0x08, 0x03})},
		{name: "truncated", data: zipOf("tfplan", []byte{0x6a, 0x20, 0x0a})},
		// Plan{version: 3, backend: {type: "local", workspace: "prod"}}.
		{name: "backend", data: zipOf("tfplan", []byte{0x08, 0x03, 0x6a, 0x0d, 0x0a, 0x05, 'l', 'o', 'c', 'a', 'l', 0x1a, 0x04, 'p', 'r', 'o', 'd'}),
			want: "prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planWorkspace(tt.data)
			if tt.want == "" {
				if err == nil {
					t.Errorf("planWorkspace = %q, nil; want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("planWorkspace = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
