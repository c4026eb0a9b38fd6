package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/checkrun"
	"github.com/planbot/planbot/store"
)

// recordedChecks records the check run requests it is asked for.
type recordedChecks struct {
	creates []checkrun.Run
	updates int
	err     error
}

func (r *recordedChecks) CreateCheckRun(_ context.Context, _ planbot.Repo, run checkrun.Run) (int64, error) {
	r.creates = append(r.creates, run)
	return int64(len(r.creates)), r.err
}

func (r *recordedChecks) UpdateCheckRun(context.Context, planbot.Repo, int64, checkrun.Run) error {
	r.updates++
	return r.err
}

// TestPlanChecksCreateOnce plans two of three projects of a pull request
// (the third was planned by an earlier job): start writes nothing, finish
// creates one completed run for each project this job planned, with when
// it started, and none for the other; a failed create is not retried as
// an update. --checks=off writes none.
func TestPlanChecksCreateOnce(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 4, HeadSHA: "abc"}
	dev, prod, stage := planbot.Project{Name: "dev", Dir: "envs/dev"}, planbot.Project{Name: "prod", Dir: "envs/prod"}, planbot.Project{Name: "stage", Dir: "envs/stage"}
	results := []planbot.Result{
		{Project: dev, Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy.", Changes: planbot.Changes{Add: 1}},
		{Project: prod, Status: planbot.StatusNoChange, Summary: "No changes."},
		{Project: stage, Status: planbot.StatusPlanned, Changes: planbot.Changes{Add: 1}},
	}
	gh := &recordedChecks{err: errors.New("GitHub is down")}
	checks := newPlanChecks(true, gh, pr, log)
	before := time.Now()
	checks.start(dev)
	checks.start(prod)
	if len(gh.creates)+gh.updates != 0 {
		t.Fatalf("start wrote %d check runs", len(gh.creates)+gh.updates)
	}
	checks.finish(ctx, results, nil)
	if len(gh.creates) != 2 || gh.updates != 0 {
		t.Fatalf("finish made %d creates and %d updates, want 2 and 0", len(gh.creates), gh.updates)
	}
	for i, want := range []struct{ name, conclusion string }{{"planbot plan: dev", "success"}, {"planbot plan: prod", "neutral"}} {
		run := gh.creates[i]
		if run.Name != want.name || run.Status != checkrun.Completed || run.Conclusion != want.conclusion || run.Title == "" || run.StartedAt.Before(before) || run.StartedAt.After(time.Now()) {
			t.Errorf("create %d = %s, %s/%s, title %q, started %v", i, run.Name, run.Status, run.Conclusion, run.Title, run.StartedAt)
		}
	}
	if len(gh.creates[0].Actions) != 2 || len(gh.creates[1].Actions) != 1 {
		t.Errorf("buttons: %+v and %+v, want Apply and Re-plan, then Re-plan", gh.creates[0].Actions, gh.creates[1].Actions)
	}

	off := &recordedChecks{}
	none := newPlanChecks(false, off, pr, log)
	none.start(dev)
	none.finish(ctx, results, nil)
	if len(off.creates)+off.updates != 0 {
		t.Errorf("--checks=off wrote %d check runs", len(off.creates)+off.updates)
	}
}

// TestApplyCheckCreateOnce writes the apply run of a saved plan: one
// completed create, success, failure or neutral for a dry run, and
// nothing for a plan without changes, a Kustomize project, or with check
// runs off.
func TestApplyCheckCreateOnce(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 4, HeadSHA: "abc"}
	res, err := json.Marshal(planbot.Result{Project: planbot.Project{Name: "dev", Dir: "envs/dev"}, Status: planbot.StatusPlanned, Changes: planbot.Changes{Add: 1}})
	if err != nil {
		t.Fatal(err)
	}
	planned := store.Plan{Project: "dev", Status: string(planbot.StatusPlanned), Kind: string(planbot.KindTerraform), Result: res}
	began := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tt := range []struct {
		name       string
		checks     bool
		plan       store.Plan
		err        error
		conclusion string // "" for no run
	}{
		{name: "applied", checks: true, plan: planned, conclusion: "success"},
		{name: "failed", checks: true, plan: planned, err: errors.New("apply failed"), conclusion: "failure"},
		{name: "dry run", checks: true, plan: planned, err: planbot.ErrDryRun, conclusion: "neutral"},
		{name: "no changes", checks: true, plan: store.Plan{Project: "dev", Status: string(planbot.StatusNoChange), Result: res}},
		{name: "kustomize", checks: true, plan: store.Plan{Project: "k8s", Status: string(planbot.StatusPlanned), Kind: string(planbot.KindKustomize)}},
		{name: "checks off", plan: planned},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh := &recordedChecks{}
			a := &Applier{Checks: tt.checks}
			a.applyCheck(ctx, gh, pr, tt.plan, began, "applied `dev`", tt.err, log)
			if gh.updates != 0 {
				t.Errorf("%d updates, want none", gh.updates)
			}
			if tt.conclusion == "" {
				if len(gh.creates) != 0 {
					t.Errorf("wrote %d apply runs, want none", len(gh.creates))
				}
				return
			}
			if len(gh.creates) != 1 {
				t.Fatalf("%d creates, want 1", len(gh.creates))
			}
			run := gh.creates[0]
			if run.Name != "planbot apply: dev" || run.Status != checkrun.Completed || run.Conclusion != tt.conclusion || !run.StartedAt.Equal(began) || run.Summary == "" {
				t.Errorf("apply run = %s, %s/%s, started %v, summary %q", run.Name, run.Status, run.Conclusion, run.StartedAt, run.Summary)
			}
		})
	}
}
