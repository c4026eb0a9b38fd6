package drift

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/workspaces"
)

// steps records the order of a drift plan's checkout, slot and plan.
type steps struct {
	mu   sync.Mutex // mu guards the fields below
	seen []string
	dir  string
	err  error // of the checkout
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, step)
}

func (s *steps) Sync(context.Context, workspaces.Source) error { return nil }

func (s *steps) Checkout(_ context.Context, _ workspaces.Source, sha, name string) (string, error) {
	s.add("checkout " + name + "@" + sha)
	return s.dir, s.err
}

func (s *steps) Prune(context.Context, planbot.Repo, int, ...string) error { return nil }

// EngineOf keeps the project's engine.
func (s *steps) EngineOf(e planbot.Engine) planbot.Engine { return e }

func (s *steps) AcquireIdle(context.Context) (func(), error) {
	s.add("slot")
	return func() { s.add("release") }, nil
}

// Plan saves a plan file, as terraform does, and reports changes.
func (s *steps) Plan(_ context.Context, dir, workspace string, _ ...terraform.RunOption) (planbot.Result, error) {
	s.add("plan " + filepath.Base(dir) + " " + workspace)
	file := filepath.Join(dir, "tfplan")
	if err := os.WriteFile(file, []byte("plan"), 0o600); err != nil {
		return planbot.Result{}, err
	}
	return planbot.Result{Status: planbot.StatusPlanned, PlanFile: file, Output: "token s3cr3t-value"}, nil
}

// TestPlanOneChecksOutBeforeItsSlot checks that a drift plan checks its
// project out before it waits for a slot, as a pull request plan does,
// plans while it holds the slot, removes the saved plan and masks secrets.
func TestPlanOneChecksOutBeforeItsSlot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &steps{dir: root}
	d := &Detector{Workspaces: s, Terraform: s, Slots: s, Secrets: []string{"s3cr3t-value"}, Logger: logtest.New(t)}
	prj := planbot.Project{Name: "live", Dir: "live", Kind: planbot.KindTerraform}
	res := d.planOne(t.Context(), workspaces.Source{}, "abc", prj, d.Logger)

	want := []string{"checkout live@abc", "slot", "plan live " + prj.WorkspaceName(), "release"}
	if diff := cmp.Diff(s.seen, want); diff != "" {
		t.Errorf("steps (-got +want):\n%s", diff)
	}
	if res.Status != planbot.StatusPlanned || res.Project != prj || res.PlanFile != "" {
		t.Errorf("result = %+v; want planned, of the project, without a plan file", res)
	}
	if _, err := os.Stat(filepath.Join(root, "live", "tfplan")); !os.IsNotExist(err) {
		t.Errorf("the saved plan is still there (err %v)", err)
	}
	if res.Output != "token ***" {
		t.Errorf("output = %q; want the secret masked", res.Output)
	}
}

// TestPlanOneFailedCheckout checks that a checkout that fails gives a
// failed result without a plan.
func TestPlanOneFailedCheckout(t *testing.T) {
	s := &steps{err: errors.New("no such commit")}
	d := &Detector{Workspaces: s, Terraform: s, Slots: s, Logger: logtest.New(t)}
	prj := planbot.Project{Name: "live", Dir: "live", Kind: planbot.KindTerraform}
	res := d.planOne(t.Context(), workspaces.Source{}, "abc", prj, d.Logger)
	if res.Status != planbot.StatusFailed || res.Error == "" {
		t.Errorf("result = %+v; want failed with an error", res)
	}
	for _, step := range s.seen {
		if strings.HasPrefix(step, "plan") {
			t.Errorf("planned after a failed checkout: %q", s.seen)
		}
	}
}
