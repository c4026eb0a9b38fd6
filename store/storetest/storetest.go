// Package storetest is the conformance suite of the store.Store contract.
// Every backend runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
//
// The model: each subtest opens a fresh, empty store, drives it only
// through the store.Store interface, and checks the observable behaviour the
// contract promises: the durable job queue with leases, per-Key
// serialization and pruning, project locks, saved plans and the
// hash-chained audit log, including under concurrent use. RunReopen additionally checks that state
// survives closing and reopening the same database.
package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/store"
)

// t0 is the suite's reference time: UTC, microsecond precision, so stored
// times compare equal after a round trip.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891011000, time.UTC)

// Run runs the conformance suite. open must return a new, empty store for
// each call and close it when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EnqueueDedupe", testEnqueueDedupe},
		{"ClaimOrder", testClaimOrder},
		{"LeaseExpiry", testLeaseExpiry},
		{"Extend", testExtend},
		{"KeySerialization", testKeySerialization},
		{"Finish", testFinish},
		{"RetryBackoff", testRetryBackoff},
		{"Postpone", testPostpone},
		{"PruneJobs", testPruneJobs},
		{"CountJobs", testCountJobs},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"Locks", testLocks},
		{"ReleasePR", testReleasePR},
		{"Plans", testPlans},
		{"PlanComment", testPlanComment},
		{"AuditChain", testAuditChain},
		{"AuditIdempotent", testAuditIdempotent},
		{"AuditTime", testAuditTime},
		{"AuditFilter", testAuditFilter},
		{"AuditConcurrent", testAuditConcurrent},
		{"Passes", testPasses},
		{"JobResult", testJobResult},
		{"OpenPlans", testOpenPlans},
		{"PullJobs", testPullJobs},
		{"Logs", testLogs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// must returns v, or stops t when err is not nil, naming the failed call
// with format and args.
func must[T any](t *testing.T, v T, err error, format string, args ...any) T {
	t.Helper()
	if err != nil {
		t.Fatalf(format+": %v", append(args, err)...)
	}
	return v
}

func mustEnqueue(t *testing.T, s store.Store, j store.Job) {
	t.Helper()
	ok, err := s.EnqueueDelivery(t.Context(), j)
	if err != nil || !ok {
		t.Fatalf("EnqueueDelivery(%s) = %v, %v; want true, nil", j.DeliveryID, ok, err)
	}
}

// enqueueKeyed enqueues, in order, one job of event "e" with payload {}
// created at created (zero: now) for each of jobs, a delivery ID and,
// after a space, the job's Key (none: no Key).
func enqueueKeyed(t *testing.T, s store.Store, created time.Time, jobs ...string) {
	t.Helper()
	for _, j := range jobs {
		id, key, _ := strings.Cut(j, " ")
		mustEnqueue(t, s, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: key, CreatedAt: created})
	}
}

func mustClaim(t *testing.T, s store.Store, owner string, now, until time.Time) *store.Job {
	t.Helper()
	j, err := s.Claim(t.Context(), owner, now, until)
	return must(t, j, err, "Claim(%s)", owner)
}

// claimWant claims a job as w1 at now, leased for a minute, and fails the
// test unless it is the job of delivery want ("" for none).
func claimWant(t *testing.T, s store.Store, now time.Time, want string) *store.Job {
	t.Helper()
	j := mustClaim(t, s, "w1", now, now.Add(time.Minute))
	if claimedID(j) != want {
		t.Fatalf("Claim at t0+%s = %q; want %q", now.Sub(t0), claimedID(j), want)
	}
	return j
}

// mustFinish finishes job j as w1.
func mustFinish(t *testing.T, s store.Store, j *store.Job, errMsg string, maxAttempts int, retryAt time.Time) {
	t.Helper()
	if err := s.Finish(t.Context(), j.ID, "w1", errMsg, maxAttempts, retryAt); err != nil {
		t.Fatalf("Finish(%s): %v", j.DeliveryID, err)
	}
}

// claimedID returns the delivery ID of j, or "" for nil.
func claimedID(j *store.Job) string {
	if j == nil {
		return ""
	}
	return j.DeliveryID
}

func mustJob(t *testing.T, s store.Store, id string) *store.Job {
	t.Helper()
	j, err := s.Job(t.Context(), id)
	return must(t, j, err, "Job(%s)", id)
}

func testEnqueueDedupe(t *testing.T, s store.Store) {
	ctx := t.Context()
	in := store.Job{DeliveryID: "d1", Event: "pull_request", Payload: []byte(`{"action":"opened"}`), Key: "o/r#1", CreatedAt: t0}
	mustEnqueue(t, s, in)
	ok, err := s.EnqueueDelivery(ctx, store.Job{DeliveryID: "d1", Event: "issue_comment", Payload: []byte(`{}`), Key: "o/r#2"})
	if err != nil || ok {
		t.Fatalf("EnqueueDelivery(duplicate) = %v, %v; want false, nil", ok, err)
	}
	got := mustJob(t, s, "d1")
	want := &store.Job{ID: got.ID, DeliveryID: "d1", Event: "pull_request", Payload: []byte(`{"action":"opened"}`),
		Key: "o/r#1", State: store.JobQueued, CreatedAt: t0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Job(d1) mismatch (-got +want):\n%s", diff)
	}
	if _, err := s.Job(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Job(nope) error = %v; want ErrNotFound", err)
	}
	// A job enqueued without CreatedAt gets the current time.
	mustEnqueue(t, s, store.Job{DeliveryID: "d2", Event: "ping", Payload: []byte(`{}`)})
	if j := mustJob(t, s, "d2"); j.CreatedAt.IsZero() || j.CreatedAt.Location() != time.UTC {
		t.Errorf("Job(d2).CreatedAt = %v; want the current UTC time", j.CreatedAt)
	}
}

func testClaimOrder(t *testing.T, s store.Store) {
	if j := mustClaim(t, s, "w1", t0, t0.Add(time.Minute)); j != nil {
		t.Fatalf("Claim on empty queue = %+v; want nil", j)
	}
	for i, key := range []string{"o/r#1", "", "o/r#2"} {
		mustEnqueue(t, s, store.Job{DeliveryID: fmt.Sprintf("d%d", i+1), Event: "e", Payload: []byte(`{}`), Key: key, CreatedAt: t0})
	}
	var got []string
	for range 4 {
		got = append(got, claimedID(mustClaim(t, s, "w1", t0, t0.Add(time.Minute))))
	}
	if diff := cmp.Diff(got, []string{"d1", "d2", "d3", ""}); diff != "" {
		t.Errorf("claim order mismatch (-got +want):\n%s", diff)
	}
	j := mustJob(t, s, "d1")
	want := &store.Job{ID: j.ID, DeliveryID: "d1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1",
		State: store.JobRunning, Attempts: 1, Owner: "w1", LeaseUntil: t0.Add(time.Minute), CreatedAt: t0}
	if diff := cmp.Diff(j, want); diff != "" {
		t.Errorf("claimed job mismatch (-got +want):\n%s", diff)
	}
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, store.Job{DeliveryID: "d1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1"})
	first := mustClaim(t, s, "w1", t0, t0.Add(time.Minute))
	if claimedID(first) != "d1" || first.Attempts != 1 {
		t.Fatalf("first Claim = %+v; want d1 with 1 attempt", first)
	}
	if j := mustClaim(t, s, "w2", t0.Add(30*time.Second), t0.Add(2*time.Minute)); j != nil {
		t.Fatalf("Claim during a live lease = %s; want nil", j.DeliveryID)
	}
	again := mustClaim(t, s, "w2", t0.Add(time.Minute), t0.Add(2*time.Minute))
	if claimedID(again) != "d1" {
		t.Fatalf("Claim after lease expiry = %v; want d1", again)
	}
	if again.ID != first.ID || again.Attempts != 2 || again.Owner != "w2" || !again.LeaseUntil.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("reclaimed job = %+v; want id %d, 2 attempts, owner w2, lease %v", again, first.ID, t0.Add(2*time.Minute))
	}
	// The first worker lost its lease.
	if err := s.Extend(ctx, first.ID, "w1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend by the previous owner error = %v; want ErrNotFound", err)
	}
	if err := s.Finish(ctx, first.ID, "w1", "", 3, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Finish by the previous owner error = %v; want ErrNotFound", err)
	}
	if err := s.Finish(ctx, first.ID, "w2", "", 3, time.Time{}); err != nil {
		t.Errorf("Finish by the owner: %v", err)
	}
	if j := mustJob(t, s, "d1"); j.State != store.JobDone {
		t.Errorf("state after Finish = %q; want %q", j.State, store.JobDone)
	}
}

func testExtend(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, store.Job{DeliveryID: "d1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1"})
	j := mustClaim(t, s, "w1", t0, t0.Add(time.Minute))
	if err := s.Extend(ctx, j.ID, "w1", t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("Extend by owner: %v", err)
	}
	if got := mustJob(t, s, "d1").LeaseUntil; !got.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("LeaseUntil after Extend = %v; want %v", got, t0.Add(5*time.Minute))
	}
	// The extended lease is live past the original expiry.
	if c := mustClaim(t, s, "w2", t0.Add(2*time.Minute), t0.Add(10*time.Minute)); c != nil {
		t.Errorf("Claim during the extended lease = %s; want nil", c.DeliveryID)
	}
	if err := s.Extend(ctx, j.ID, "w2", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend by non-owner error = %v; want ErrNotFound", err)
	}
	if err := s.Extend(ctx, j.ID+1000, "w1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend of unknown job error = %v; want ErrNotFound", err)
	}
	if err := s.Finish(ctx, j.ID, "w1", "", 3, time.Time{}); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := s.Extend(ctx, j.ID, "w1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend of a finished job error = %v; want ErrNotFound", err)
	}
}

func testKeySerialization(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueueKeyed(t, s, time.Time{}, "a1 o/r#1", "a2 o/r#1", "b1 o/r#2", "n1", "n2")
	lease := t0.Add(time.Minute)
	var got []string
	for range 5 {
		j := mustClaim(t, s, "w1", t0, lease)
		got = append(got, claimedID(j))
		if j != nil && j.DeliveryID != "a1" {
			if err := s.Finish(ctx, j.ID, "w1", "", 3, time.Time{}); err != nil {
				t.Fatalf("Finish(%s): %v", j.DeliveryID, err)
			}
		}
	}
	// a2 waits behind a1; jobs without a Key never wait for each other.
	if diff := cmp.Diff(got, []string{"a1", "b1", "n1", "n2", ""}); diff != "" {
		t.Fatalf("claims while a1 runs mismatch (-got +want):\n%s", diff)
	}
	// After a1's lease expires, a1 (the oldest) is claimed again, not a2.
	a1 := mustClaim(t, s, "w2", lease, lease.Add(time.Minute))
	if claimedID(a1) != "a1" {
		t.Fatalf("Claim after a1's lease expired = %v; want a1", claimedID(a1))
	}
	if c := mustClaim(t, s, "w3", lease, lease.Add(time.Minute)); c != nil {
		t.Fatalf("Claim while a1 holds a new lease = %s; want nil", c.DeliveryID)
	}
	if err := s.Finish(ctx, a1.ID, "w2", "", 3, time.Time{}); err != nil {
		t.Fatalf("Finish(a1): %v", err)
	}
	if c := mustClaim(t, s, "w3", lease, lease.Add(time.Minute)); claimedID(c) != "a2" {
		t.Fatalf("Claim after a1 finished = %v; want a2", claimedID(c))
	}

	// A job whose predecessor failed for good becomes claimable too.
	mustEnqueue(t, s, store.Job{DeliveryID: "c1", Event: "e", Payload: []byte(`{}`), Key: "o/r#3"})
	mustEnqueue(t, s, store.Job{DeliveryID: "c2", Event: "e", Payload: []byte(`{}`), Key: "o/r#3"})
	c1 := mustClaim(t, s, "w4", lease, lease.Add(time.Minute))
	if claimedID(c1) != "c1" {
		t.Fatalf("Claim = %v; want c1", claimedID(c1))
	}
	if err := s.Finish(ctx, c1.ID, "w4", "boom", 1, time.Time{}); err != nil {
		t.Fatalf("Finish(c1): %v", err)
	}
	if c := mustClaim(t, s, "w4", lease, lease.Add(time.Minute)); claimedID(c) != "c2" {
		t.Fatalf("Claim after c1 failed = %v; want c2", claimedID(c))
	}
}

func testFinish(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, store.Job{DeliveryID: "d1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1"})
	mustEnqueue(t, s, store.Job{DeliveryID: "d2", Event: "e", Payload: []byte(`{}`), Key: "o/r#2"})
	j := claimWant(t, s, t0, "d1")
	if err := s.Finish(ctx, j.ID, "w2", "", 2, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Finish by non-owner error = %v; want ErrNotFound", err)
	}
	if err := s.Finish(ctx, j.ID, "w1", "attempt 1 failed", 2, time.Time{}); err != nil {
		t.Fatalf("Finish(retry): %v", err)
	}
	got := mustJob(t, s, "d1")
	if got.State != store.JobQueued || got.Attempts != 1 || got.LastError != "attempt 1 failed" {
		t.Errorf("after a failed attempt 1 of 2: state %q attempts %d error %q; want queued, 1, %q",
			got.State, got.Attempts, got.LastError, "attempt 1 failed")
	}
	j = claimWant(t, s, t0, "d1")
	if j.Attempts != 2 {
		t.Errorf("Attempts on second claim = %d; want 2", j.Attempts)
	}
	if err := s.Finish(ctx, j.ID, "w1", "attempt 2 failed", 2, time.Time{}); err != nil {
		t.Fatalf("Finish(fail): %v", err)
	}
	got = mustJob(t, s, "d1")
	if got.State != store.JobFailed || got.LastError != "attempt 2 failed" {
		t.Errorf("after a failed attempt 2 of 2: state %q error %q; want failed, %q", got.State, got.LastError, "attempt 2 failed")
	}
	if err := s.Finish(ctx, j.ID, "w1", "", 2, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Finish of a failed job error = %v; want ErrNotFound", err)
	}

	j = claimWant(t, s, t0, "d2")
	if err := s.Finish(ctx, j.ID, "w1", "", 2, time.Time{}); err != nil {
		t.Fatalf("Finish(done): %v", err)
	}
	if got := mustJob(t, s, "d2"); got.State != store.JobDone || got.LastError != "" {
		t.Errorf("after success: state %q error %q; want done, empty", got.State, got.LastError)
	}
	// Neither a failed nor a done job is claimed again, even long after.
	claimWant(t, s, t0.Add(24*time.Hour), "")
}

// testRetryBackoff checks that a failed job waits for its retryAt: it is not
// claimed before, the newer jobs of its Key wait behind it, and the jobs of
// other keys proceed.
func testRetryBackoff(t *testing.T, s store.Store) {
	enqueueKeyed(t, s, t0, "a1 o/r#1", "a2 o/r#1", "b1 o/r#2", "n1")

	retryAt := t0.Add(time.Minute)
	a1 := claimWant(t, s, t0, "a1")
	mustFinish(t, s, a1, "rate limited", 3, retryAt)
	want := &store.Job{ID: a1.ID, DeliveryID: "a1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1",
		State: store.JobQueued, Attempts: 1, RunAfter: retryAt, LastError: "rate limited", CreatedAt: t0}
	if diff := cmp.Diff(mustJob(t, s, "a1"), want); diff != "" {
		t.Errorf("job waiting for its retry mismatch (-got +want):\n%s", diff)
	}

	// While a1 waits, a2 stays behind it; other keys and keyless jobs run.
	b1 := claimWant(t, s, t0, "b1")
	n1 := claimWant(t, s, t0, "n1")
	claimWant(t, s, t0, "")
	mustFinish(t, s, b1, "", 3, retryAt)
	mustFinish(t, s, n1, "", 3, retryAt)
	claimWant(t, s, retryAt.Add(-time.Microsecond), "")
	if got := mustJob(t, s, "b1"); got.State != store.JobDone || !got.RunAfter.IsZero() {
		t.Errorf("b1 after success: state %q RunAfter %v; want done, zero", got.State, got.RunAfter)
	}

	// At retryAt a1, not a2, is claimed again, and no longer waits.
	a1 = claimWant(t, s, retryAt, "a1")
	if a1.Attempts != 2 || !a1.RunAfter.IsZero() {
		t.Errorf("a1 claimed again: Attempts %d RunAfter %v; want 2, zero", a1.Attempts, a1.RunAfter)
	}
	if got := mustJob(t, s, "a1"); !got.RunAfter.IsZero() {
		t.Errorf("stored a1 after its claim: RunAfter %v; want zero", got.RunAfter)
	}
	// A zero retryAt puts it back for an immediate retry.
	mustFinish(t, s, a1, "server error", 3, time.Time{})
	if got := mustJob(t, s, "a1"); got.State != store.JobQueued || !got.RunAfter.IsZero() {
		t.Errorf("a1 after a failure with zero retryAt: state %q RunAfter %v; want queued, zero", got.State, got.RunAfter)
	}
	a1 = claimWant(t, s, retryAt, "a1")
	if a1.Attempts != 3 {
		t.Errorf("a1 Attempts = %d; want 3", a1.Attempts)
	}
	// Out of attempts, it fails for good whatever retryAt says, and a2 runs.
	mustFinish(t, s, a1, "still failing", 3, retryAt.Add(time.Hour))
	if got := mustJob(t, s, "a1"); got.State != store.JobFailed || !got.RunAfter.IsZero() {
		t.Errorf("a1 out of attempts: state %q RunAfter %v; want failed, zero", got.State, got.RunAfter)
	}
	claimWant(t, s, retryAt, "a2")
}

// testPostpone checks that a postponed job waits for runAfter like a
// retry, with the newer jobs of its Key behind it, but without using up an
// attempt: postponed any number of times, a job with one attempt still
// gets to fail once.
func testPostpone(t *testing.T, s store.Store) {
	ctx := t.Context()
	enqueueKeyed(t, s, t0, "p1 o/r#1", "p2 o/r#1", "q1 o/r#2")
	until := t0.Add(2 * time.Hour)
	p1 := claimWant(t, s, t0, "p1")
	if err := s.Postpone(ctx, p1.ID, "w2", "rate limited", until); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Postpone by non-owner error = %v; want ErrNotFound", err)
	}
	if err := s.Postpone(ctx, p1.ID, "w1", "rate limited", until); err != nil {
		t.Fatalf("Postpone: %v", err)
	}
	want := &store.Job{ID: p1.ID, DeliveryID: "p1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1",
		State: store.JobQueued, Attempts: 0, RunAfter: until, LastError: "rate limited", CreatedAt: t0}
	if diff := cmp.Diff(mustJob(t, s, "p1"), want); diff != "" {
		t.Errorf("postponed job mismatch (-got +want):\n%s", diff)
	}
	if err := s.Postpone(ctx, p1.ID, "w1", "again", until); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Postpone of a queued job error = %v; want ErrNotFound", err)
	}

	// While p1 waits, p2 stays behind it; other keys run.
	q1 := claimWant(t, s, t0.Add(time.Hour), "q1")
	if err := s.Finish(ctx, q1.ID, "w1", "", 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	claimWant(t, s, until.Add(-time.Microsecond), "")

	// At runAfter p1 runs again, on its first attempt still, however often
	// it is postponed.
	for range 5 {
		p1 = claimWant(t, s, until, "p1")
		if p1.Attempts != 1 || !p1.RunAfter.IsZero() {
			t.Fatalf("p1 claimed after Postpone: Attempts %d RunAfter %v; want 1, zero", p1.Attempts, p1.RunAfter)
		}
		if err := s.Postpone(ctx, p1.ID, "w1", "rate limited", until); err != nil {
			t.Fatal(err)
		}
	}
	// A zero runAfter makes it claimable at once.
	p1 = claimWant(t, s, until, "p1")
	if err := s.Postpone(ctx, p1.ID, "w1", "rate limited", time.Time{}); err != nil {
		t.Fatal(err)
	}
	p1 = claimWant(t, s, until, "p1")
	// Its one real failure fails it for good, and p2 runs.
	if err := s.Finish(ctx, p1.ID, "w1", "broken", 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := mustJob(t, s, "p1"); got.State != store.JobFailed || got.Attempts != 1 || got.FinishedAt.IsZero() {
		t.Errorf("p1 after its failure: state %q attempts %d finished %v; want failed, 1, set", got.State, got.Attempts, got.FinishedAt)
	}
	claimWant(t, s, until, "p2")
}

func testConcurrentClaimers(t *testing.T, s store.Store) { ClaimConcurrently(t, s) }

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
