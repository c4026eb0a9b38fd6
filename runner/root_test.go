package runner

import (
	"context"
	"errors"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/workspaces"
)

// checkouter checks every commit out into dir, or fails with err.
type checkouter struct {
	dir   string
	err   error
	names []string
}

func (c *checkouter) Checkout(_ context.Context, _ workspaces.Source, sha, name string) (string, error) {
	c.names = append(c.names, name+"@"+sha)
	return c.dir, c.err
}

// TestCheckoutRoot checks that CheckoutRoot checks the project's own
// worktree out at once, plans only when its function is called, in the
// project's dir with its workspace, and turns every failure into a failed
// result.
func TestCheckoutRoot(t *testing.T) {
	root := t.TempDir()
	planned := func(status planbot.Status, err error) PlanFunc {
		return func(_ context.Context, dir, workspace string, _ ...terraform.RunOption) (planbot.Result, error) {
			if dir != root+"/envs/dev" || workspace != "default" {
				t.Errorf("plan in %s, workspace %s; want %s/envs/dev, default", dir, workspace, root)
			}
			return planbot.Result{Status: status, Error: "from terraform"}, err
		}
	}
	tests := []struct {
		name        string
		ws          *checkouter
		dir         string
		plan        PlanFunc
		wantStatus  planbot.Status
		wantMessage string
	}{
		{name: "planned", ws: &checkouter{dir: root}, dir: "envs/dev", plan: planned(planbot.StatusPlanned, nil), wantStatus: planbot.StatusPlanned, wantMessage: "from terraform"},
		{name: "terraform failed", ws: &checkouter{dir: root}, dir: "envs/dev", plan: planned(planbot.StatusFailed, errors.New("exit 1")), wantStatus: planbot.StatusFailed, wantMessage: "from terraform"},
		{name: "run failed", ws: &checkouter{dir: root}, dir: "envs/dev", plan: planned(planbot.StatusPlanned, errors.New("no terraform")), wantStatus: planbot.StatusFailed, wantMessage: planbot.ErrorMessage(errors.New("no terraform"))},
		{name: "checkout failed", ws: &checkouter{err: errors.New("no such commit")}, dir: "envs/dev", wantStatus: planbot.StatusFailed, wantMessage: planbot.ErrorMessage(errors.New("no such commit"))},
		{name: "dir outside the tree", ws: &checkouter{dir: root}, dir: "../x", wantStatus: planbot.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prj := planbot.Project{Name: "dev", Dir: tt.dir, Kind: planbot.KindTerraform}
			calls := 0
			plan := func(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error) {
				calls++
				return tt.plan(ctx, dir, workspace, opts...)
			}
			run := CheckoutRoot(t.Context(), tt.ws, workspaces.Source{}, "abc", prj, plan, logtest.New(t))
			if len(tt.ws.names) != 1 || tt.ws.names[0] != "dev@abc" || calls != 0 {
				t.Fatalf("before the plan: checkouts %q, plans %d; want dev@abc, 0", tt.ws.names, calls)
			}
			res := run()
			if res.Status != tt.wantStatus || res.Project != prj {
				t.Errorf("result %+v; want status %s of the project", res, tt.wantStatus)
			}
			if tt.wantMessage != "" && res.Error != tt.wantMessage {
				t.Errorf("error %q; want %q", res.Error, tt.wantMessage)
			}
			if tt.wantStatus == planbot.StatusFailed && res.Error == "" {
				t.Error("a failed result without an error")
			}
		})
	}
}
