package storetest

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
)

// pruneJobIDs are the jobs of testPruneJobs, named after what becomes of
// them.
var pruneJobIDs = []string{"old-done", "old-failed", "retrying", "running", "new-done", "new-failed", "queued"}

// testPruneJobs checks that PruneJobs deletes exactly the done and failed
// jobs that finished before the cutoff, judged by when they finished rather
// than when they arrived, keeps queued (including waiting for a retry) and
// running ones however old, and forgets the pruned delivery IDs so they can
// be enqueued again.
func testPruneJobs(t *testing.T, s store.Store) {
	// Every job arrived long ago, so only FinishedAt can tell the newer
	// ones apart.
	for _, id := range pruneJobIDs {
		mustEnqueue(t, s, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: "o/r#" + id, CreatedAt: t0})
	}
	mustFinish(t, s, claimWant(t, s, t0, "old-done"), "", 3, time.Time{})
	mustFinish(t, s, claimWant(t, s, t0, "old-failed"), "boom", 1, time.Time{})
	mustFinish(t, s, claimWant(t, s, t0, "retrying"), "boom", 3, t0.Add(time.Hour))
	claimWant(t, s, t0, "running")
	lastOld := lastFinished(t, s, "old-done", "old-failed")
	for _, id := range []string{"retrying", "running", "queued"} {
		if j := mustJob(t, s, id); !j.FinishedAt.IsZero() {
			t.Errorf("Job(%s).FinishedAt = %v; want zero for a %s job", id, j.FinishedAt, j.State)
		}
	}
	// The cutoff is the first microsecond the clock reads after the old
	// jobs finished; the new jobs finish at or after it.
	cutoff := time.Now().UTC().Truncate(time.Microsecond)
	for !cutoff.After(lastOld) {
		runtime.Gosched()
		cutoff = time.Now().UTC().Truncate(time.Microsecond)
	}
	mustFinish(t, s, claimWant(t, s, t0, "new-done"), "", 3, time.Time{})
	mustFinish(t, s, claimWant(t, s, t0, "new-failed"), "boom", 1, time.Time{})

	mustPrune(t, s, cutoff, 2)
	checkPruned(t, s, "old-done", "old-failed")
	mustPrune(t, s, cutoff, 0)
	future := time.Now().Add(24 * time.Hour)
	mustPrune(t, s, future, 2)
	checkPruned(t, s, "old-done", "old-failed", "new-done", "new-failed")
	for _, id := range []string{"retrying", "running", "queued"} {
		if j := mustJob(t, s, id); j.State == store.JobDone || j.State == store.JobFailed {
			t.Errorf("Job(%s).State = %q after pruning; want it still pending", id, j.State)
		}
	}

	// A pruned delivery ID is forgotten: a redelivery of it is a new job.
	// This is why retention must exceed GitHub's 3-day redelivery window.
	ok, err := s.EnqueueDelivery(t.Context(), store.Job{DeliveryID: "old-done", Event: "e", Payload: []byte(`{}`)})
	if err != nil || !ok {
		t.Errorf("EnqueueDelivery(pruned old-done) = %v, %v; want true, nil", ok, err)
	}
}

// lastFinished returns the latest FinishedAt of the finished jobs ids, and
// fails the test when one has none or it is not in UTC.
func lastFinished(t *testing.T, s store.Store, ids ...string) time.Time {
	t.Helper()
	var last time.Time
	for _, id := range ids {
		j := mustJob(t, s, id)
		if j.FinishedAt.IsZero() || j.FinishedAt.Location() != time.UTC {
			t.Fatalf("Job(%s).FinishedAt = %v; want the UTC time it finished", id, j.FinishedAt)
		}
		if j.FinishedAt.After(last) {
			last = j.FinishedAt
		}
	}
	return last
}

// mustPrune prunes the jobs finished before before and checks that want
// were deleted.
func mustPrune(t *testing.T, s store.Store, before time.Time, want int) {
	t.Helper()
	n, err := s.PruneJobs(t.Context(), before)
	if err != nil {
		t.Fatalf("PruneJobs(%v): %v", before, err)
	}
	if n != want {
		t.Errorf("PruneJobs(%v) = %d; want %d", before, n, want)
	}
}

// checkPruned checks that of pruneJobIDs exactly the jobs gone are gone.
func checkPruned(t *testing.T, s store.Store, gone ...string) {
	t.Helper()
	isGone := map[string]bool{}
	for _, id := range gone {
		isGone[id] = true
	}
	for _, id := range pruneJobIDs {
		_, err := s.Job(t.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Job(%s): %v", id, err)
		}
		if exists := err == nil; exists == isGone[id] {
			t.Errorf("after pruning, job %s exists = %v; want %v", id, exists, !isGone[id])
		}
	}
}
