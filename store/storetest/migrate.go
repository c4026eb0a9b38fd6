package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/store"
)

// RunPlanDataMigration checks the upgrade of a database made before plans
// had PlanData (migration 0002): plans saved before the upgrade keep
// everything else and have nil PlanData, and new plans store it. open
// returns a new, empty store; downgrade closes s, returns its database to
// the schema before migration 0002 (dropping the column and its
// schema_migrations row) and returns a new store on that database, which
// applies the migration again.
func RunPlanDataMigration(t *testing.T, open func(t *testing.T) store.Store, downgrade func(t *testing.T, s store.Store) store.Store) {
	s := open(t)
	old := store.Plan{Repo: "o/r", PR: 1, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
		Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/1", PlanSHA256: "abc",
		Result: []byte(`{"ok":true}`), CreatedAt: t0}
	old = mustSavePlan(t, s, old)

	s = downgrade(t, s)

	if diff := cmp.Diff(mustLatestPlan(t, s, "o/r", 1, "app"), &old); diff != "" {
		t.Errorf("plan saved before the upgrade mismatch (-got +want):\n%s", diff)
	}
	fresh := old
	fresh.ID, fresh.HeadSHA, fresh.PlanData, fresh.CreatedAt = 0, "h2", []byte("plan\x00file"), t0.Add(time.Minute)
	fresh = mustSavePlan(t, s, fresh)
	if diff := cmp.Diff(mustLatestPlan(t, s, "o/r", 1, "app"), &fresh); diff != "" {
		t.Errorf("plan saved after the upgrade mismatch (-got +want):\n%s", diff)
	}
}

// RunRunAfterMigration checks the upgrade of a database made before jobs
// had RunAfter (migration 0003): a job queued before the upgrade is
// claimable at once, and afterwards a failed job waits for its retryAt.
// open returns a new, empty store; downgrade closes s, returns its database
// to the schema before migration 0003 (dropping the column and its
// schema_migrations row) and returns a new store on that database, which
// applies the migration again.
func RunRunAfterMigration(t *testing.T, open func(t *testing.T) store.Store, downgrade func(t *testing.T, s store.Store) store.Store) {
	ctx := t.Context()
	s := open(t)
	mustEnqueue(t, s, store.Job{DeliveryID: "old", Event: "e", Payload: []byte(`{}`), Key: "o/r#1", CreatedAt: t0})

	s = downgrade(t, s)

	got := mustJob(t, s, "old")
	want := &store.Job{ID: got.ID, DeliveryID: "old", Event: "e", Payload: []byte(`{}`), Key: "o/r#1",
		State: store.JobQueued, CreatedAt: t0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("job queued before the upgrade mismatch (-got +want):\n%s", diff)
	}
	j := mustClaim(t, s, "w1", t0, t0.Add(time.Minute))
	if claimedID(j) != "old" {
		t.Fatalf("Claim after upgrade = %q; want old", claimedID(j))
	}
	retryAt := t0.Add(time.Minute)
	if err := s.Finish(ctx, j.ID, "w1", "boom", 3, retryAt); err != nil {
		t.Fatalf("Finish after upgrade: %v", err)
	}
	if got := mustJob(t, s, "old"); !got.RunAfter.Equal(retryAt) {
		t.Errorf("RunAfter after a failed attempt = %v; want %v", got.RunAfter, retryAt)
	}
	if j := mustClaim(t, s, "w1", t0, t0.Add(time.Minute)); j != nil {
		t.Errorf("Claim before retryAt = %q; want none", j.DeliveryID)
	}
	if j := mustClaim(t, s, "w1", retryAt, retryAt.Add(time.Minute)); claimedID(j) != "old" {
		t.Errorf("Claim at retryAt = %q; want old", claimedID(j))
	}
}

// RunJobFinishedAtMigration checks the upgrade of a database made before
// jobs had FinishedAt (migration 0004): jobs that ended before the upgrade
// have no FinishedAt and PruneJobs judges them by CreatedAt, while jobs that
// end afterwards record FinishedAt. open returns a new, empty store;
// downgrade closes s, returns its database to the schema before migration
// 0004 (dropping the column, its index and its schema_migrations row) and
// returns a new store on that database, which applies the migration again.
func RunJobFinishedAtMigration(t *testing.T, open func(t *testing.T) store.Store, downgrade func(t *testing.T, s store.Store) store.Store) {
	ctx := t.Context()
	s := open(t)
	mustEnqueue(t, s, store.Job{DeliveryID: "early", Event: "e", Payload: []byte(`{}`), Key: "o/r#1", CreatedAt: t0})
	mustEnqueue(t, s, store.Job{DeliveryID: "late", Event: "e", Payload: []byte(`{}`), Key: "o/r#2", CreatedAt: t0.Add(2 * time.Hour)})
	mustEnqueue(t, s, store.Job{DeliveryID: "pending", Event: "e", Payload: []byte(`{}`), Key: "o/r#3", CreatedAt: t0})
	for _, f := range []struct {
		id     string
		errMsg string
	}{{"early", ""}, {"late", "boom"}} {
		mustFinish(t, s, claimWant(t, s, t0, f.id), f.errMsg, 1, time.Time{})
	}

	s = downgrade(t, s)

	if got := mustJob(t, s, "early"); got.State != store.JobDone || !got.FinishedAt.IsZero() {
		t.Errorf("job done before the upgrade: state %q FinishedAt %v; want done, zero", got.State, got.FinishedAt)
	}
	mustPrune(t, s, t0.Add(time.Hour), 1)
	if _, err := s.Job(ctx, "early"); err == nil {
		t.Errorf("job early (created before the cutoff, finished before the upgrade) survived PruneJobs")
	}
	mustJob(t, s, "late")
	mustPrune(t, s, t0.Add(3*time.Hour), 1)
	if got := mustJob(t, s, "pending"); got.State != store.JobQueued {
		t.Errorf("Job(pending).State = %q; want queued", got.State)
	}

	mustFinish(t, s, claimWant(t, s, t0, "pending"), "", 1, time.Time{})
	if got := mustJob(t, s, "pending"); got.FinishedAt.IsZero() {
		t.Errorf("job finished after the upgrade has no FinishedAt")
	}
}
