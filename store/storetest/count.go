package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/store"
)

// testCountJobs checks that CountJobs counts queued jobs, those waiting
// for a retry and those on an expired lease as queued, jobs on a live
// lease as running, and finished jobs not at all.
func testCountJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	count := func(now time.Time) store.JobCounts {
		t.Helper()
		c, err := s.CountJobs(ctx, now)
		if err != nil {
			t.Fatalf("CountJobs: %v", err)
		}
		return c
	}
	if diff := cmp.Diff(count(t0), store.JobCounts{}); diff != "" {
		t.Errorf("CountJobs of an empty store mismatch (-got +want):\n%s", diff)
	}
	for _, id := range []string{"done", "failed", "retrying", "running", "queued"} {
		mustEnqueue(t, s, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: "o/r#" + id, CreatedAt: t0})
	}
	for _, f := range []struct {
		id, errMsg  string
		maxAttempts int
	}{{"done", "", 3}, {"failed", "boom", 1}, {"retrying", "boom", 3}} {
		mustFinish(t, s, claimWant(t, s, t0, f.id), f.errMsg, f.maxAttempts, t0.Add(time.Hour))
	}
	claimWant(t, s, t0, "running") // leased until t0+1m

	tests := []struct {
		name string
		now  time.Time
		want store.JobCounts
	}{
		{name: "lease live", now: t0.Add(30 * time.Second), want: store.JobCounts{Queued: 2, Running: 1}},
		{name: "lease expired", now: t0.Add(2 * time.Minute), want: store.JobCounts{Queued: 3, Running: 0}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(count(tt.now), tt.want); diff != "" {
			t.Errorf("%s: CountJobs mismatch (-got +want):\n%s", tt.name, diff)
		}
	}
}
