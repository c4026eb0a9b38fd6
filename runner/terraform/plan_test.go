package terraform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/sandbox"
	"github.com/planbot/planbot/sandbox/sandboxtest"
)

// realRunner returns a Runner for the terraform on PATH. The test fails
// when there is none: CI guarantees it.
func realRunner(t testing.TB) *Runner {
	t.Helper()
	return engineRunner(t, planbot.EngineTerraform)
}

// engineRunner returns a Runner whose default engine is e, found on PATH,
// confined by the sandbox. The test fails when there is none: CI installs
// terraform and OpenTofu.
func engineRunner(t testing.TB, e planbot.Engine) *Runner {
	t.Helper()
	bin, err := FindEngine(context.Background(), e)
	if err != nil {
		t.Fatalf("%s is required for this test: %v", e.Name(), err)
	}
	return &Runner{Bin: bin.Path, Engine: bin.Engine, Sandbox: sandboxtest.New(t, sandbox.ModeLandlock), Logger: testLogger(t)}
}

// forEachEngine runs test with a Runner of each engine, as the subtests
// "terraform" and "tofu": what planbot reads from terraform (plan JSON,
// plan text, versions, errors) must read the same from OpenTofu.
func forEachEngine(t *testing.T, test func(t *testing.T, r *Runner)) {
	for _, e := range []planbot.Engine{planbot.EngineTerraform, planbot.EngineOpenTofu} {
		t.Run(e.Command(), func(t *testing.T) { test(t, engineRunner(t, e)) })
	}
}

// testLogger sends log records to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return logtest.New(t)
}

// writeFiles replaces the .tf files of dir with files.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const dataA = `resource "terraform_data" "a" {
  input = "x"
}
`

func TestPlan(t *testing.T) { forEachEngine(t, testPlan) }

func testPlan(t *testing.T, r *Runner) {
	tests := []struct {
		name string
		// before, when set, is planned and applied first.
		before    map[string]string
		after     map[string]string
		workspace string

		wantStatus  planbot.Status
		wantSummary string
		wantChanges planbot.Changes
		// wantOutput, wantFmt and wantError are substrings.
		wantOutput []string
		wantFmt    []string
		wantError  []string
		// logError logs Error, to show what a PR comment would say.
		logError bool
	}{
		{
			name:        "create",
			after:       map[string]string{"main.tf": dataA},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 1 to add, 0 to change, 0 to destroy.",
			wantChanges: planbot.Changes{Add: 1},
			wantOutput:  []string{`# terraform_data.a will be created`, `+ input  = "x"`},
		},
		{
			name:        "no changes",
			before:      map[string]string{"main.tf": dataA},
			after:       map[string]string{"main.tf": dataA},
			wantStatus:  planbot.StatusNoChange,
			wantSummary: "No changes.",
			wantOutput:  []string{"No changes."},
		},
		{
			name:        "destroy",
			before:      map[string]string{"main.tf": dataA, "b.tf": `resource "terraform_data" "b" {}` + "\n"},
			after:       map[string]string{"main.tf": dataA},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 0 to add, 0 to change, 1 to destroy.",
			wantChanges: planbot.Changes{Destroy: 1, Destroys: []string{"terraform_data.b"}},
			wantOutput:  []string{"# terraform_data.b will be destroyed"},
		},
		{
			name: "replace",
			before: map[string]string{"main.tf": `resource "terraform_data" "a" {
  triggers_replace = ["1"]
}
`},
			after: map[string]string{"main.tf": `resource "terraform_data" "a" {
  triggers_replace = ["2"]
}
`},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 1 to add, 0 to change, 1 to destroy.",
			wantChanges: planbot.Changes{Replace: 1, Replaces: []string{"terraform_data.a"}},
			wantOutput:  []string{"must be replaced"},
		},
		{
			name:   "moved",
			before: map[string]string{"main.tf": dataA},
			after: map[string]string{"main.tf": `resource "terraform_data" "b" {
  input = "x"
}

moved {
  from = terraform_data.a
  to   = terraform_data.b
}
`},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 0 to add, 0 to change, 0 to destroy.",
			wantChanges: planbot.Changes{Move: 1, Moves: []string{"terraform_data.a -> terraform_data.b"}},
			wantOutput:  []string{"# terraform_data.a has moved to terraform_data.b"},
		},
		{
			name:   "output only",
			before: map[string]string{"main.tf": dataA},
			after: map[string]string{"main.tf": dataA + `
output "o" {
  value = "new"
}
`},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "No resource changes, outputs change.",
			wantChanges: planbot.Changes{OutputsChanged: true},
			wantOutput:  []string{"Changes to Outputs:", `+ o = "new"`},
		},
		{
			name:       "hcl error",
			after:      map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {\n  input = \n}\n"},
			wantStatus: planbot.StatusFailed,
			wantError:  []string{r.Engine.Command() + " init failed", "Error: Invalid expression", "main.tf line 2"},
			logError:   true,
		},
		{
			name:        "fmt failure",
			after:       map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {\ninput=\"x\"\n}\n"},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 1 to add, 0 to change, 0 to destroy.",
			wantChanges: planbot.Changes{Add: 1},
			wantFmt:     []string{"main.tf", `-input="x"`, `+  input = "x"`},
		},
		{
			name:        "workspace",
			before:      map[string]string{"main.tf": dataA},
			after:       map[string]string{"main.tf": dataA},
			workspace:   "staging",
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 1 to add, 0 to change, 0 to destroy.",
			wantChanges: planbot.Changes{Add: 1},
		},
		{
			name: "sensitive",
			after: map[string]string{"main.tf": `resource "terraform_data" "s" {
  input = sensitive("hunter2")
}
`},
			wantStatus:  planbot.StatusPlanned,
			wantSummary: "Plan: 1 to add, 0 to change, 0 to destroy.",
			wantChanges: planbot.Changes{Add: 1},
			wantOutput:  []string{"input  = (sensitive value)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			if tt.before != nil {
				writeFiles(t, dir, tt.before)
				res, err := r.Plan(ctx, dir, "")
				if err != nil || res.Status == planbot.StatusFailed {
					t.Fatalf("plan before: %v %s", err, res.Error)
				}
				if _, err := r.Apply(ctx, dir, res.PlanFile, res.PlanSHA256); err != nil {
					t.Fatalf("apply before: %v", err)
				}
			}
			writeFiles(t, dir, tt.after)
			res, err := r.Plan(ctx, dir, tt.workspace)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("Status = %q, want %q; Error:\n%s", res.Status, tt.wantStatus, res.Error)
			}
			if diff := cmp.Diff(res.Summary, tt.wantSummary); diff != "" {
				t.Errorf("Summary (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(res.Changes, tt.wantChanges); diff != "" {
				t.Errorf("Changes (-got +want):\n%s", diff)
			}
			contains(t, "Output", res.Output, tt.wantOutput)
			contains(t, "Fmt", res.Fmt, tt.wantFmt)
			if tt.wantFmt == nil && res.Fmt != "" {
				t.Errorf("Fmt = %q, want empty", res.Fmt)
			}
			contains(t, "Error", res.Error, tt.wantError)
			if tt.logError {
				t.Logf("Error:\n%s", res.Error)
			}
			if res.Status == planbot.StatusFailed {
				if res.PlanFile != "" || res.PlanSHA256 != "" {
					t.Errorf("failed plan has PlanFile %q, PlanSHA256 %q", res.PlanFile, res.PlanSHA256)
				}
				if _, err := os.Stat(filepath.Join(dir, PlanFileName)); err == nil {
					t.Errorf("failed plan left %s behind", PlanFileName)
				}
				return
			}
			if want := filepath.Join(dir, PlanFileName); res.PlanFile != want {
				t.Errorf("PlanFile = %q, want %q", res.PlanFile, want)
			}
			sum, err := FileSHA256(res.PlanFile)
			if err != nil || sum != res.PlanSHA256 || len(sum) != 64 {
				t.Errorf("PlanSHA256 = %q, file's is %q (%v)", res.PlanSHA256, sum, err)
			}
			if tt.workspace != "" {
				b, err := os.ReadFile(filepath.Join(dir, ".terraform", "environment"))
				if err != nil || string(b) != tt.workspace {
					t.Errorf("selected workspace = %q (%v), want %q", b, err, tt.workspace)
				}
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v, want > 0", res.Duration)
			}
		})
	}
}

func contains(t *testing.T, field, got string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", field, w, got)
		}
	}
}

func TestPlanStaleFileRemoved(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	if res, err := r.Plan(ctx, dir, ""); err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan: %v %+v", err, res)
	}
	writeFiles(t, dir, map[string]string{"main.tf": "resource {"})
	res, err := r.Plan(ctx, dir, "")
	if err != nil || res.Status != planbot.StatusFailed {
		t.Fatalf("Plan of broken config = %q, %v; want failed", res.Status, err)
	}
	if _, err := os.Stat(filepath.Join(dir, PlanFileName)); err == nil {
		t.Errorf("plan of broken config left the earlier plan file in place")
	}
}

func TestPlanInvalidWorkspace(t *testing.T) {
	r := realRunner(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	res, err := r.Plan(context.Background(), dir, "-chdir=/")
	if got := planbot.ErrorCode(err); got != planbot.EINVALID {
		t.Fatalf("Plan with workspace %q: error code %q (%v), want %q", "-chdir=/", got, err, planbot.EINVALID)
	}
	if res.Status != planbot.StatusFailed {
		t.Errorf("Status = %q, want failed", res.Status)
	}
}

func TestApply(t *testing.T) { forEachEngine(t, testApply) }

func testApply(t *testing.T, r *Runner) {
	ctx := context.Background()

	plan := func(t *testing.T) (string, planbot.Result) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"main.tf": dataA})
		res, err := r.Plan(ctx, dir, "")
		if err != nil || res.Status != planbot.StatusPlanned {
			t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
		}
		return dir, res
	}

	t.Run("applies the saved plan", func(t *testing.T) {
		dir, res := plan(t)
		out, err := r.Apply(ctx, dir, PlanFileName, res.PlanSHA256)
		if err != nil {
			t.Fatalf("Apply: %v\n%s", err, out)
		}
		contains(t, "output", out, []string{"Apply complete! Resources: 1 added, 0 changed, 0 destroyed."})
		again, err := r.Plan(ctx, dir, "")
		if err != nil || again.Status != planbot.StatusNoChange {
			t.Errorf("Plan after apply = %q, %v; want no changes", again.Status, err)
		}
	})
	tests := []struct {
		name     string
		tamper   func(t *testing.T, planFile string)
		wantSHA  func(got string) string
		wantCode string
	}{
		{
			name:     "modified file",
			tamper:   func(t *testing.T, f string) { appendByte(t, f) },
			wantSHA:  func(got string) string { return got },
			wantCode: planbot.ECONFLICT,
		},
		{
			name:     "other digest",
			wantSHA:  func(string) string { return strings.Repeat("0", 64) },
			wantCode: planbot.ECONFLICT,
		},
		{
			name:     "no digest",
			wantSHA:  func(string) string { return "" },
			wantCode: planbot.EINVALID,
		},
		{
			name:     "file gone",
			tamper:   func(t *testing.T, f string) { os.Remove(f) },
			wantSHA:  func(got string) string { return got },
			wantCode: planbot.ENOTFOUND,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, res := plan(t)
			if tt.tamper != nil {
				tt.tamper(t, res.PlanFile)
			}
			out, err := r.Apply(ctx, dir, res.PlanFile, tt.wantSHA(res.PlanSHA256))
			if got := planbot.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Apply error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if out != "" {
				t.Errorf("refused Apply has output %q", out)
			}
			if _, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err == nil {
				t.Errorf("refused Apply wrote state")
			}
		})
	}
}

// TestApplyDryRun checks that a dry-run Apply checks the saved plan but
// runs no terraform apply: the plan's local-exec provisioner leaves no
// marker and no state is written.
func TestApplyDryRun(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": `resource "terraform_data" "a" {
  input = "x"
  provisioner "local-exec" {
    command = "echo applied >> applied.marker"
  }
}
`})
	res, err := r.Plan(ctx, dir, "")
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}
	dry := *r
	dry.DryRun = true
	if _, err := dry.Apply(ctx, dir, res.PlanFile, strings.Repeat("0", 64)); planbot.ErrorCode(err) != planbot.ECONFLICT {
		t.Errorf("dry-run Apply of a wrong digest = %v, want the ECONFLICT of a real apply", err)
	}
	out, err := dry.Apply(ctx, dir, res.PlanFile, res.PlanSHA256)
	if !errors.Is(err, planbot.ErrDryRun) {
		t.Fatalf("dry-run Apply = %v, want ErrDryRun", err)
	}
	if out != "" {
		t.Errorf("dry-run Apply has output %q", out)
	}
	for _, f := range []string{"applied.marker", "terraform.tfstate"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("dry-run Apply left %s: terraform apply ran", f)
		}
	}
	// The same plan applied for real leaves the marker, so the check above
	// can fail.
	if out, err := r.Apply(ctx, dir, res.PlanFile, res.PlanSHA256); err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "applied.marker")); err != nil {
		t.Errorf("the real apply left no marker: %v", err)
	}
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPlan(b *testing.B) {
	r := realRunner(b)
	r.Logger = slog.New(slog.DiscardHandler)
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{"main.tf": dataA})
	ctx := context.Background()
	for b.Loop() {
		res, err := r.Plan(ctx, dir, "")
		if err != nil || res.Status != planbot.StatusPlanned {
			b.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
		}
	}
}

func TestPlanOutputLimit(t *testing.T) {
	r := realRunner(t)
	r.OutputLimit = 300
	ctx := context.Background()
	var many strings.Builder
	for i := range 20 {
		fmt.Fprintf(&many, "resource \"terraform_data\" \"r%d\" {\n  input = \"%d\"\n}\n\n", i, i)
	}
	tests := []struct {
		name  string
		files map[string]string
		field func(planbot.Result) string
	}{
		{name: "output", files: map[string]string{"main.tf": many.String()}, field: func(r planbot.Result) string { return r.Output }},
		{name: "error", files: map[string]string{"main.tf": strings.Repeat("resource {\n", 50)}, field: func(r planbot.Result) string { return r.Error }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			res, err := r.Plan(ctx, dir, "")
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got := tt.field(res)
			if !strings.Contains(got, "bytes omitted") || len(got) > 400 {
				t.Errorf("%s is not bounded to about 300 bytes (%d bytes):\n%s", tt.name, len(got), got)
			}
		})
	}
}
