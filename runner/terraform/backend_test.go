package terraform

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// TestHTTPBackend plans, prepares and applies a root whose state lives in
// terraform's http backend, which has no workspaces: planbot must not ask
// it for any unless the project names one.
func TestHTTPBackend(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	states := statetest.New(t)
	files := map[string]string{"main.tf": states.Backend("root") + dataA}

	dir := t.TempDir()
	writeTree(t, dir, files)
	res, err := r.Plan(ctx, dir, "")
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}

	// Apply in a fresh checkout, as another replica would.
	fresh := t.TempDir()
	writeTree(t, fresh, files)
	if err := r.Prepare(ctx, fresh, "default"); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if out, err := r.Apply(ctx, fresh, res.PlanFile, res.PlanSHA256); err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if diff := cmp.Diff(states.Resources("root"), []string{"terraform_data.a"}); diff != "" {
		t.Errorf("state after apply (-got +want):\n%s", diff)
	}

	// A named workspace is still asked for, and the backend's refusal is
	// the project's failure.
	res, err = r.Plan(ctx, dir, "staging")
	if err != nil || res.Status != planbot.StatusFailed {
		t.Fatalf("Plan(staging) = %q, %v; want a failed plan", res.Status, err)
	}
}
