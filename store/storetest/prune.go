package storetest

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
)

// testPruneJobs checks that PruneJobs deletes exactly the done and failed
// jobs that finished before the cutoff, judged by when they finished rather
// than when they arrived, keeps queued (including waiting for a retry) and
// running ones however old, and forgets the pruned delivery IDs so they can
// be enqueued again.
func testPruneJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Every job arrived long ago, so only FinishedAt can tell the newer
	// ones apart.
	for _, id := range []string{"old-done", "old-failed", "retrying", "running", "new-done", "new-failed", "queued"} {
		mustEnqueue(t, s, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: "o/r#" + id, CreatedAt: t0})
	}
	claim := func(want string) *store.Job {
		t.Helper()
		j := mustClaim(t, s, "w1", t0, t0.Add(time.Minute))
		if claimedID(j) != want {
			t.Fatalf("Claim = %q; want %q", claimedID(j), want)
		}
		return j
	}
	finish := func(want, errMsg string, maxAttempts int, retryAt time.Time) {
		t.Helper()
		j := claim(want)
		if err := s.Finish(ctx, j.ID, "w1", errMsg, maxAttempts, retryAt); err != nil {
			t.Fatalf("Finish(%s): %v", want, err)
		}
	}

	finish("old-done", "", 3, time.Time{})
	finish("old-failed", "boom", 1, time.Time{})
	finish("retrying", "boom", 3, t0.Add(time.Hour))
	claim("running")
	var lastOld time.Time
	for _, id := range []string{"old-done", "old-failed"} {
		j := mustJob(t, s, id)
		if j.FinishedAt.IsZero() || j.FinishedAt.Location() != time.UTC {
			t.Fatalf("Job(%s).FinishedAt = %v; want the UTC time it finished", id, j.FinishedAt)
		}
		if j.FinishedAt.After(lastOld) {
			lastOld = j.FinishedAt
		}
	}
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
	finish("new-done", "", 3, time.Time{})
	finish("new-failed", "boom", 1, time.Time{})

	prune := func(before time.Time, want int) {
		t.Helper()
		n, err := s.PruneJobs(ctx, before)
		if err != nil {
			t.Fatalf("PruneJobs(%v): %v", before, err)
		}
		if n != want {
			t.Errorf("PruneJobs(%v) = %d; want %d", before, n, want)
		}
	}
	exists := func(id string) bool {
		t.Helper()
		_, err := s.Job(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Job(%s): %v", id, err)
		}
		return err == nil
	}
	check := func(gone ...string) {
		t.Helper()
		isGone := map[string]bool{}
		for _, id := range gone {
			isGone[id] = true
		}
		for _, id := range []string{"old-done", "old-failed", "retrying", "running", "new-done", "new-failed", "queued"} {
			if got := exists(id); got == isGone[id] {
				t.Errorf("after pruning, job %s exists = %v; want %v", id, got, !isGone[id])
			}
		}
	}

	prune(cutoff, 2)
	check("old-done", "old-failed")
	prune(cutoff, 0)
	future := time.Now().Add(24 * time.Hour)
	prune(future, 2)
	check("old-done", "old-failed", "new-done", "new-failed")
	for _, id := range []string{"retrying", "running", "queued"} {
		if j := mustJob(t, s, id); j.State == store.JobDone || j.State == store.JobFailed {
			t.Errorf("Job(%s).State = %q after pruning; want it still pending", id, j.State)
		}
	}

	// A pruned delivery ID is forgotten: a redelivery of it is a new job.
	// This is why retention must exceed GitHub's 3-day redelivery window.
	ok, err := s.EnqueueDelivery(ctx, store.Job{DeliveryID: "old-done", Event: "e", Payload: []byte(`{}`)})
	if err != nil || !ok {
		t.Errorf("EnqueueDelivery(pruned old-done) = %v, %v; want true, nil", ok, err)
	}
}
