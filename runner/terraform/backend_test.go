package terraform

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/terraform/statetest"
	"github.com/planbot/planbot/treetest"
)

// TestHTTPBackend plans, prepares and applies a root whose state lives in
// terraform's http backend, which has no workspaces: planbot must not ask
// it for any unless the project names one.
func TestHTTPBackend(t *testing.T) { forEachEngine(t, testHTTPBackend) }

func testHTTPBackend(t *testing.T, r *Runner) {
	ctx := context.Background()
	states := statetest.New(t)
	files := map[string]string{"main.tf": states.Backend("root") + dataA}

	dir := t.TempDir()
	treetest.Write(t, dir, files)
	res, err := r.Plan(ctx, dir, "")
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan = %q, %v: %s", res.Status, err, res.Error)
	}

	// Apply in a fresh checkout, as another replica would.
	fresh := t.TempDir()
	treetest.Write(t, fresh, files)
	if err := r.Prepare(ctx, fresh, "default"); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if out, err := r.Apply(ctx, fresh, res.PlanFile, res.PlanSHA256); err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	if diff := cmp.Diff(states.Resources("root"), []string{"terraform_data.a"}); diff != "" {
		t.Errorf("state after apply (-got +want):\n%s", diff)
	}

	// Deleting the root destroys what its state holds, through a saved
	// plan applied like any other.
	gone := t.TempDir()
	treetest.Write(t, gone, files)
	res, err = r.PlanDestroy(ctx, gone, "")
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("PlanDestroy = %q, %v: %s", res.Status, err, res.Error)
	}
	want := planbot.Changes{Destroy: 1, Destroys: []string{"terraform_data.a"}}
	if diff := cmp.Diff(res.Changes, want); diff != "" {
		t.Errorf("PlanDestroy changes (-got +want):\n%s", diff)
	}
	if res.Summary != "Plan: 0 to add, 0 to change, 1 to destroy." {
		t.Errorf("PlanDestroy summary = %q", res.Summary)
	}
	if out, err := r.Apply(ctx, gone, res.PlanFile, res.PlanSHA256); err != nil {
		t.Fatalf("Apply of the destroy plan: %v\n%s", err, out)
	}
	if got := states.Resources("root"); len(got) != 0 {
		t.Errorf("state after the destroy still holds %v", got)
	}
	// Now the state is empty: nothing to destroy.
	res, err = r.PlanDestroy(ctx, gone, "")
	if err != nil || res.Status != planbot.StatusNoChange || res.Changes.Destroy != 0 {
		t.Fatalf("PlanDestroy of an empty state = %q %+v, %v: %s", res.Status, res.Changes, err, res.Error)
	}

	// A named workspace is still asked for, and the backend's refusal is
	// the project's failure.
	res, err = r.Plan(ctx, dir, "staging")
	if err != nil || res.Status != planbot.StatusFailed {
		t.Fatalf("Plan(staging) = %q, %v; want a failed plan", res.Status, err)
	}
}

// TestPlanDestroyNoState plans the destruction of a root that never had
// any state: nothing is destroyed.
func TestPlanDestroyNoState(t *testing.T) {
	r := realRunner(t)
	dir := t.TempDir()
	treetest.Write(t, dir, map[string]string{"main.tf": "resource \"terraform_data\" \"a\" {\n  input=1 # not formatted\n}\n"})
	res, err := r.PlanDestroy(context.Background(), dir, "")
	if err != nil || res.Status != planbot.StatusNoChange {
		t.Fatalf("PlanDestroy = %q, %v: %s", res.Status, err, res.Error)
	}
	if res.Fmt != "" {
		t.Errorf("PlanDestroy checked formatting: %q", res.Fmt)
	}
}
