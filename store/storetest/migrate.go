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
	ctx := t.Context()
	s := open(t)
	old := store.Plan{Repo: "o/r", PR: 1, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
		Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/1", PlanSHA256: "abc",
		Result: []byte(`{"ok":true}`), CreatedAt: t0}
	id, err := s.SavePlan(ctx, old)
	if err != nil {
		t.Fatalf("SavePlan: %v", err)
	}
	old.ID = id

	s = downgrade(t, s)

	got, err := s.LatestPlan(ctx, "o/r", 1, "app")
	if err != nil {
		t.Fatalf("LatestPlan after upgrade: %v", err)
	}
	if diff := cmp.Diff(got, &old); diff != "" {
		t.Errorf("plan saved before the upgrade mismatch (-got +want):\n%s", diff)
	}
	fresh := old
	fresh.ID, fresh.HeadSHA, fresh.PlanData, fresh.CreatedAt = 0, "h2", []byte("plan\x00file"), t0.Add(time.Minute)
	if fresh.ID, err = s.SavePlan(ctx, fresh); err != nil {
		t.Fatalf("SavePlan after upgrade: %v", err)
	}
	got, err = s.LatestPlan(ctx, "o/r", 1, "app")
	if err != nil {
		t.Fatalf("LatestPlan after upgrade: %v", err)
	}
	if diff := cmp.Diff(got, &fresh); diff != "" {
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
