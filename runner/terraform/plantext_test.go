package terraform

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlanTextMatchesShow checks that the text planbot keeps of `terraform
// plan`'s output is exactly what `terraform show` prints for the saved
// plan, for plans with progress lines, warnings, outputs, destroys and no
// changes.
func TestPlanTextMatchesShow(t *testing.T) { forEachEngine(t, testPlanTextMatchesShow) }

func testPlanTextMatchesShow(t *testing.T, r *Runner) {
	two := `resource "terraform_data" "a" {
  input = "x"
}

resource "terraform_data" "b" {
  input = "y"
}

output "o" {
  value = terraform_data.a.output
}
`
	tests := []struct {
		name    string
		applied string // configuration applied before planning, if any
		files   map[string]string
		args    []string
	}{
		{name: "create", files: map[string]string{"main.tf": two}},
		{name: "no changes", applied: two, files: map[string]string{"main.tf": two}},
		{name: "update after refresh", applied: two, files: map[string]string{"main.tf": strings.ReplaceAll(two, `"x"`, `"x2"`)}},
		{name: "destroy", applied: two, files: map[string]string{"main.tf": two}, args: []string{"-destroy"}},
		{name: "warning", applied: two, files: map[string]string{"main.tf": strings.ReplaceAll(two, `"y"`, `"y2"`), "terraform.tfvars": "undeclared = 1\n"}},
		{name: "outputs only", applied: two, files: map[string]string{"main.tf": two + "\noutput \"p\" {\n  value = \"new\"\n}\n"}},
		{name: "multi-line values", files: map[string]string{"main.tf": "resource \"terraform_data\" \"m\" {\n  input = \"line 1\\n\\nWarning: not one\\n\"\n}\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tf := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(r.Bin, args...)
				cmd.Dir = dir
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 2 {
					t.Fatalf("terraform %v: %v\n%s", args, err, stderr.String())
				}
				return stdout.String()
			}
			if tt.applied != "" {
				writeFiles(t, dir, map[string]string{"main.tf": tt.applied})
				tf("init", "-input=false", "-no-color")
				tf("apply", "-input=false", "-no-color", "-auto-approve")
			}
			writeFiles(t, dir, tt.files)
			tf("init", "-input=false", "-no-color")
			stdout := tf(append(planArgs("p.tfplan", "0s", false), tt.args...)...)
			show := tf(showArgs("p.tfplan", false)...)
			got, ok := planText(stdout)
			if !ok {
				t.Fatalf("planText did not recognise the plan output:\n%s", stdout)
			}
			if diff := cmp.Diff(got, show); diff != "" {
				t.Errorf("plan text differs from show (-plan +show):\n%s\nplan's output:\n%s", diff, stdout)
			}
		})
	}
}

func TestPlanTextRefusesUnknownOutput(t *testing.T) {
	for _, stdout := range []string{"", "Plan: 1 to add, 0 to change, 0 to destroy.\n", "x: Reading...\n\nSomething new\n", "\nWarning: This plan was generated using a different version of Terraform\n"} {
		if got, ok := planText(stdout); ok {
			t.Errorf("planText(%q) = %q, true; want false", stdout, got)
		}
	}
}
