package terraform

import (
	"context"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
)

// TestOutput checks that Output receives what init, plan and apply
// print, and not the JSON planbot reads back, and that the result is the
// same as without it.
func TestOutput(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	var live logtest.Buffer
	res, err := r.Plan(ctx, dir, "", Output(&live))
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}
	got := live.String()
	for _, want := range []string{"Terraform has been successfully initialized!", "terraform_data.a will be created", "Plan: 1 to add, 0 to change, 0 to destroy."} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"format_version"`) {
		t.Errorf("live output has the plan's JSON:\n%s", got)
	}
	if !strings.Contains(res.Output, "terraform_data.a will be created") {
		t.Errorf("Result.Output changed by Output: %q", res.Output)
	}
	var applied logtest.Buffer
	out, err := r.Apply(ctx, dir, PlanFileName, res.PlanSHA256, Output(&applied))
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if !strings.Contains(applied.String(), "Apply complete!") || !strings.Contains(out, "Apply complete!") {
		t.Errorf("apply's live output %q, output %q: want both to say Apply complete!", applied.String(), out)
	}
}
