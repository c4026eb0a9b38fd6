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
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/audit"
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func mustEnqueue(t *testing.T, s store.Store, j store.Job) {
	t.Helper()
	ok, err := s.EnqueueDelivery(t.Context(), j)
	if err != nil || !ok {
		t.Fatalf("EnqueueDelivery(%s) = %v, %v; want true, nil", j.DeliveryID, ok, err)
	}
}

func mustClaim(t *testing.T, s store.Store, owner string, now, until time.Time) *store.Job {
	t.Helper()
	j, err := s.Claim(t.Context(), owner, now, until)
	if err != nil {
		t.Fatalf("Claim(%s): %v", owner, err)
	}
	return j
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
	if err != nil {
		t.Fatalf("Job(%s): %v", id, err)
	}
	return j
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
	for _, j := range []store.Job{
		{DeliveryID: "a1", Key: "o/r#1"},
		{DeliveryID: "a2", Key: "o/r#1"},
		{DeliveryID: "b1", Key: "o/r#2"},
		{DeliveryID: "n1", Key: ""},
		{DeliveryID: "n2", Key: ""},
	} {
		j.Event, j.Payload = "e", []byte(`{}`)
		mustEnqueue(t, s, j)
	}
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
	now := t0
	claim := func(want string) *store.Job {
		t.Helper()
		j := mustClaim(t, s, "w1", now, now.Add(time.Minute))
		if claimedID(j) != want {
			t.Fatalf("Claim = %q; want %q", claimedID(j), want)
		}
		return j
	}

	j := claim("d1")
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
	j = claim("d1")
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

	j = claim("d2")
	if err := s.Finish(ctx, j.ID, "w1", "", 2, time.Time{}); err != nil {
		t.Fatalf("Finish(done): %v", err)
	}
	if got := mustJob(t, s, "d2"); got.State != store.JobDone || got.LastError != "" {
		t.Errorf("after success: state %q error %q; want done, empty", got.State, got.LastError)
	}
	// Neither a failed nor a done job is claimed again, even long after.
	now = t0.Add(24 * time.Hour)
	claim("")
}

// testRetryBackoff checks that a failed job waits for its retryAt: it is not
// claimed before, the newer jobs of its Key wait behind it, and the jobs of
// other keys proceed.
func testRetryBackoff(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, j := range []store.Job{
		{DeliveryID: "a1", Key: "o/r#1"},
		{DeliveryID: "a2", Key: "o/r#1"},
		{DeliveryID: "b1", Key: "o/r#2"},
		{DeliveryID: "n1", Key: ""},
	} {
		j.Event, j.Payload, j.CreatedAt = "e", []byte(`{}`), t0
		mustEnqueue(t, s, j)
	}
	claim := func(now time.Time, want string) *store.Job {
		t.Helper()
		j := mustClaim(t, s, "w1", now, now.Add(time.Minute))
		if claimedID(j) != want {
			t.Fatalf("Claim at %s = %q; want %q", now.Sub(t0), claimedID(j), want)
		}
		return j
	}
	finish := func(j *store.Job, errMsg string, maxAttempts int, retryAt time.Time) {
		t.Helper()
		if err := s.Finish(ctx, j.ID, "w1", errMsg, maxAttempts, retryAt); err != nil {
			t.Fatalf("Finish(%s): %v", j.DeliveryID, err)
		}
	}

	retryAt := t0.Add(time.Minute)
	a1 := claim(t0, "a1")
	finish(a1, "rate limited", 3, retryAt)
	want := &store.Job{ID: a1.ID, DeliveryID: "a1", Event: "e", Payload: []byte(`{}`), Key: "o/r#1",
		State: store.JobQueued, Attempts: 1, RunAfter: retryAt, LastError: "rate limited", CreatedAt: t0}
	if diff := cmp.Diff(mustJob(t, s, "a1"), want); diff != "" {
		t.Errorf("job waiting for its retry mismatch (-got +want):\n%s", diff)
	}

	// While a1 waits, a2 stays behind it; other keys and keyless jobs run.
	b1 := claim(t0, "b1")
	n1 := claim(t0, "n1")
	claim(t0, "")
	finish(b1, "", 3, retryAt)
	finish(n1, "", 3, retryAt)
	claim(retryAt.Add(-time.Microsecond), "")
	if got := mustJob(t, s, "b1"); got.State != store.JobDone || !got.RunAfter.IsZero() {
		t.Errorf("b1 after success: state %q RunAfter %v; want done, zero", got.State, got.RunAfter)
	}

	// At retryAt a1, not a2, is claimed again, and no longer waits.
	a1 = claim(retryAt, "a1")
	if a1.Attempts != 2 || !a1.RunAfter.IsZero() {
		t.Errorf("a1 claimed again: Attempts %d RunAfter %v; want 2, zero", a1.Attempts, a1.RunAfter)
	}
	if got := mustJob(t, s, "a1"); !got.RunAfter.IsZero() {
		t.Errorf("stored a1 after its claim: RunAfter %v; want zero", got.RunAfter)
	}
	// A zero retryAt puts it back for an immediate retry.
	finish(a1, "server error", 3, time.Time{})
	if got := mustJob(t, s, "a1"); got.State != store.JobQueued || !got.RunAfter.IsZero() {
		t.Errorf("a1 after a failure with zero retryAt: state %q RunAfter %v; want queued, zero", got.State, got.RunAfter)
	}
	a1 = claim(retryAt, "a1")
	if a1.Attempts != 3 {
		t.Errorf("a1 Attempts = %d; want 3", a1.Attempts)
	}
	// Out of attempts, it fails for good whatever retryAt says, and a2 runs.
	finish(a1, "still failing", 3, retryAt.Add(time.Hour))
	if got := mustJob(t, s, "a1"); got.State != store.JobFailed || !got.RunAfter.IsZero() {
		t.Errorf("a1 out of attempts: state %q RunAfter %v; want failed, zero", got.State, got.RunAfter)
	}
	claim(retryAt, "a2")
}

// testPostpone checks that a postponed job waits for runAfter like a
// retry, with the newer jobs of its Key behind it, but without using up an
// attempt: postponed any number of times, a job with one attempt still
// gets to fail once.
func testPostpone(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, j := range []store.Job{
		{DeliveryID: "p1", Key: "o/r#1"},
		{DeliveryID: "p2", Key: "o/r#1"},
		{DeliveryID: "q1", Key: "o/r#2"},
	} {
		j.Event, j.Payload, j.CreatedAt = "e", []byte(`{}`), t0
		mustEnqueue(t, s, j)
	}
	claim := func(now time.Time, want string) *store.Job {
		t.Helper()
		j := mustClaim(t, s, "w1", now, now.Add(time.Minute))
		if claimedID(j) != want {
			t.Fatalf("Claim at %s = %q; want %q", now.Sub(t0), claimedID(j), want)
		}
		return j
	}
	until := t0.Add(2 * time.Hour)
	p1 := claim(t0, "p1")
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
	q1 := claim(t0.Add(time.Hour), "q1")
	if err := s.Finish(ctx, q1.ID, "w1", "", 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	claim(until.Add(-time.Microsecond), "")

	// At runAfter p1 runs again, on its first attempt still, however often
	// it is postponed.
	for range 5 {
		p1 = claim(until, "p1")
		if p1.Attempts != 1 || !p1.RunAfter.IsZero() {
			t.Fatalf("p1 claimed after Postpone: Attempts %d RunAfter %v; want 1, zero", p1.Attempts, p1.RunAfter)
		}
		if err := s.Postpone(ctx, p1.ID, "w1", "rate limited", until); err != nil {
			t.Fatal(err)
		}
	}
	// A zero runAfter makes it claimable at once.
	p1 = claim(until, "p1")
	if err := s.Postpone(ctx, p1.ID, "w1", "rate limited", time.Time{}); err != nil {
		t.Fatal(err)
	}
	p1 = claim(until, "p1")
	// Its one real failure fails it for good, and p2 runs.
	if err := s.Finish(ctx, p1.ID, "w1", "broken", 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := mustJob(t, s, "p1"); got.State != store.JobFailed || got.Attempts != 1 || got.FinishedAt.IsZero() {
		t.Errorf("p1 after its failure: state %q attempts %d finished %v; want failed, 1, set", got.State, got.Attempts, got.FinishedAt)
	}
	claim(until, "p2")
}

func testConcurrentClaimers(t *testing.T, s store.Store) { ClaimConcurrently(t, s) }

// ClaimConcurrently enqueues jobs, some sharing a Key, through stores[0] and
// has several workers per store claim and finish them all at once. Every
// job must be claimed exactly once, two jobs of one Key must never be held
// at the same time, and the jobs of one Key must run in enqueue order.
// Passing several stores open on one database checks this across
// connection pools, as between processes.
func ClaimConcurrently(t *testing.T, stores ...store.Store) {
	ctx := t.Context()
	s := stores[0]
	const (
		workers = 8
		jobs    = 60
	)
	keyOf := func(i int) string {
		if i%4 == 0 {
			return ""
		}
		return fmt.Sprintf("o/r#%d", i%5)
	}
	for i := range jobs {
		mustEnqueue(t, s, store.Job{DeliveryID: fmt.Sprintf("d%02d", i), Event: "e", Payload: []byte(`{}`), Key: keyOf(i)})
	}

	var (
		mu       sync.Mutex // mu guards the fields below
		claims   = map[string]int{}
		running  = map[string]int{}
		order    = map[string][]string{}
		finished int
		problems []string
	)
	var wg sync.WaitGroup
	for w := range workers * len(stores) {
		owner := fmt.Sprintf("w%d", w)
		s := stores[w%len(stores)]
		wg.Go(func() {
			for {
				mu.Lock()
				done := finished == jobs || len(problems) > 0
				mu.Unlock()
				if done {
					return
				}
				j, err := s.Claim(ctx, owner, t0, t0.Add(time.Hour))
				if err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("Claim(%s): %v", owner, err))
					mu.Unlock()
					return
				}
				if j == nil {
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				claims[j.DeliveryID]++
				if j.Key != "" {
					if running[j.Key] > 0 {
						problems = append(problems, fmt.Sprintf("%s claimed while another job of %q runs", j.DeliveryID, j.Key))
					}
					running[j.Key]++
					order[j.Key] = append(order[j.Key], j.DeliveryID)
				}
				mu.Unlock()
				time.Sleep(100 * time.Microsecond) // hold the job briefly
				mu.Lock()
				if j.Key != "" {
					running[j.Key]--
				}
				mu.Unlock()
				if err := s.Finish(ctx, j.ID, owner, "", 1, time.Time{}); err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("Finish(%s): %v", j.DeliveryID, err))
					mu.Unlock()
					return
				}
				mu.Lock()
				finished++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	for i := range jobs {
		id := fmt.Sprintf("d%02d", i)
		if claims[id] != 1 {
			t.Errorf("%s claimed %d times; want 1", id, claims[id])
		}
		if j := mustJob(t, s, id); j.State != store.JobDone {
			t.Errorf("%s state = %q; want done", id, j.State)
		}
	}
	// Jobs of one Key ran in the order they were enqueued.
	for key, got := range order {
		var want []string
		for i := range jobs {
			if keyOf(i) == key {
				want = append(want, fmt.Sprintf("d%02d", i))
			}
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("run order of %q mismatch (-got +want):\n%s", key, diff)
		}
	}
}

func testLocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	l1 := store.Lock{Repo: "o/r", Dir: "infra/prod", Workspace: "default", PR: 1, HeadSHA: "aaa", User: "alice", CreatedAt: t0}

	holder, ok, err := s.AcquireLock(ctx, l1)
	if err != nil || !ok {
		t.Fatalf("AcquireLock(free) = %v, %v; want true, nil", ok, err)
	}
	if diff := cmp.Diff(holder, l1); diff != "" {
		t.Errorf("holder mismatch (-got +want):\n%s", diff)
	}

	// The same PR takes it again at a new head; the creation time stays.
	again := l1
	again.HeadSHA, again.User, again.CreatedAt = "bbb", "bob", t0.Add(time.Hour)
	holder, ok, err = s.AcquireLock(ctx, again)
	if err != nil || !ok {
		t.Fatalf("AcquireLock(same PR) = %v, %v; want true, nil", ok, err)
	}
	want := l1
	want.HeadSHA, want.User = "bbb", "bob"
	if diff := cmp.Diff(holder, want); diff != "" {
		t.Errorf("re-acquired holder mismatch (-got +want):\n%s", diff)
	}

	// Another PR is refused and told who holds the lock.
	other := store.Lock{Repo: "o/r", Dir: "infra/prod", Workspace: "default", PR: 2, HeadSHA: "ccc", User: "carol"}
	holder, ok, err = s.AcquireLock(ctx, other)
	if err != nil || ok {
		t.Fatalf("AcquireLock(held by another PR) = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(holder, want); diff != "" {
		t.Errorf("conflict holder mismatch (-got +want):\n%s", diff)
	}
	// Another workspace of the same dir is a different lock.
	otherWS := other
	otherWS.Workspace = "staging"
	if _, ok, err := s.AcquireLock(ctx, otherWS); err != nil || !ok {
		t.Fatalf("AcquireLock(other workspace) = %v, %v; want true, nil", ok, err)
	}

	locks, err := s.Locks(ctx, "o/r")
	if err != nil {
		t.Fatalf("Locks: %v", err)
	}
	if len(locks) != 2 || locks[0].Workspace != "default" || locks[1].Workspace != "staging" {
		t.Errorf("Locks(o/r) = %+v; want default then staging", locks)
	}

	tests := []struct {
		name string
		pr   int
		want bool
	}{
		{name: "other PR", pr: 2, want: false},
		{name: "holder", pr: 1, want: true},
		{name: "already released", pr: 1, want: false},
	}
	for _, tt := range tests {
		got, err := s.ReleaseLock(ctx, "o/r", "infra/prod", "default", tt.pr)
		if err != nil {
			t.Fatalf("ReleaseLock(%s): %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("ReleaseLock(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
	// PR 2 can now take it; pr 0 releases whoever holds a lock.
	if _, ok, err := s.AcquireLock(ctx, other); err != nil || !ok {
		t.Fatalf("AcquireLock(after release) = %v, %v; want true, nil", ok, err)
	}
	if got, err := s.ReleaseLock(ctx, "o/r", "infra/prod", "default", 0); err != nil || !got {
		t.Errorf("ReleaseLock(pr 0) = %v, %v; want true, nil", got, err)
	}
	locks, err = s.Locks(ctx, "o/r")
	if err != nil {
		t.Fatalf("Locks: %v", err)
	}
	if len(locks) != 1 || locks[0].Workspace != "staging" {
		t.Errorf("Locks(o/r) after releases = %+v; want only staging", locks)
	}
}

func testReleasePR(t *testing.T, s store.Store) {
	ctx := t.Context()
	acquire := []store.Lock{
		{Repo: "o/r", Dir: "b", Workspace: "default", PR: 1, HeadSHA: "a1", User: "u", CreatedAt: t0},
		{Repo: "o/r", Dir: "a", Workspace: "default", PR: 1, HeadSHA: "a1", User: "u", CreatedAt: t0},
		{Repo: "o/r", Dir: "c", Workspace: "default", PR: 2, HeadSHA: "b1", User: "v", CreatedAt: t0},
		{Repo: "o/other", Dir: "a", Workspace: "default", PR: 1, HeadSHA: "c1", User: "w", CreatedAt: t0},
	}
	for _, l := range acquire {
		if _, ok, err := s.AcquireLock(ctx, l); err != nil || !ok {
			t.Fatalf("AcquireLock(%+v) = %v, %v", l, ok, err)
		}
	}
	all, err := s.Locks(ctx, "")
	if err != nil {
		t.Fatalf("Locks(all): %v", err)
	}
	if diff := cmp.Diff(all, []store.Lock{acquire[3], acquire[1], acquire[0], acquire[2]}); diff != "" {
		t.Errorf("Locks(all) mismatch (-got +want):\n%s", diff)
	}
	released, err := s.ReleasePR(ctx, "o/r", 1)
	if err != nil {
		t.Fatalf("ReleasePR: %v", err)
	}
	if diff := cmp.Diff(released, []store.Lock{acquire[1], acquire[0]}); diff != "" {
		t.Errorf("ReleasePR mismatch (-got +want):\n%s", diff)
	}
	released, err = s.ReleasePR(ctx, "o/r", 1)
	if err != nil || len(released) != 0 {
		t.Errorf("ReleasePR(again) = %+v, %v; want none", released, err)
	}
	left, err := s.Locks(ctx, "")
	if err != nil {
		t.Fatalf("Locks(all): %v", err)
	}
	if diff := cmp.Diff(left, []store.Lock{acquire[3], acquire[2]}); diff != "" {
		t.Errorf("Locks after ReleasePR mismatch (-got +want):\n%s", diff)
	}
}

func testPlans(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LatestPlan(ctx, "o/r", 1, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestPlan(none) error = %v; want ErrNotFound", err)
	}
	save := func(p store.Plan) store.Plan {
		t.Helper()
		id, err := s.SavePlan(ctx, p)
		if err != nil {
			t.Fatalf("SavePlan(%s@%s): %v", p.Project, p.HeadSHA, err)
		}
		p.ID = id
		return p
	}
	base := store.Plan{Repo: "o/r", PR: 1, HeadSHA: "h1", BaseSHA: "b1", Dir: "infra", Workspace: "default",
		Kind: "terraform", Status: "planned", PlanFile: "/plans/1", PlanSHA256: "abc", Result: []byte(`{"ok":true}`)}

	app := base
	app.Project, app.CreatedAt = "app", t0
	app = save(app)
	replaced := app
	replaced.Status, replaced.PlanSHA256, replaced.CreatedAt = "errored", "def", t0.Add(time.Minute)
	replaced = save(replaced)
	db := base
	db.Project, db.Dir, db.Kind, db.CreatedAt = "db", "db", "kustomize", t0.Add(2*time.Minute)
	db = save(db)

	got, err := s.Plans(ctx, "o/r", 1, "h1")
	if err != nil {
		t.Fatalf("Plans: %v", err)
	}
	if diff := cmp.Diff(got, []store.Plan{replaced, db}); diff != "" {
		t.Errorf("Plans(h1) mismatch (-got +want):\n%s", diff)
	}

	testPlanData(t, s)

	newer := base
	newer.Project, newer.HeadSHA, newer.CreatedAt = "app", "h2", t0.Add(time.Hour)
	newer = save(newer)
	latest, err := s.LatestPlan(ctx, "o/r", 1, "app")
	if err != nil {
		t.Fatalf("LatestPlan: %v", err)
	}
	if diff := cmp.Diff(latest, &newer); diff != "" {
		t.Errorf("LatestPlan mismatch (-got +want):\n%s", diff)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 2, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestPlan(other PR) error = %v; want ErrNotFound", err)
	}
	if got, err := s.Plans(ctx, "o/r", 1, "h3"); err != nil || len(got) != 0 {
		t.Errorf("Plans(unknown head) = %+v, %v; want none", got, err)
	}

	other := base
	other.PR, other.Project = 2, "app"
	save(other)
	n, err := s.DeletePlans(ctx, "o/r", 1)
	if err != nil {
		t.Fatalf("DeletePlans: %v", err)
	}
	if n < 3 {
		t.Errorf("DeletePlans deleted %d plans; want every plan of PR 1 (at least 3)", n)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 1, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestPlan after DeletePlans: %v; want ErrNotFound", err)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 2, "app"); err != nil {
		t.Errorf("DeletePlans(PR 1) deleted PR 2's plan: %v", err)
	}
	if n, err := s.DeletePlans(ctx, "o/r", 1); err != nil || n != 0 {
		t.Errorf("second DeletePlans = %d, %v; want 0", n, err)
	}
}

// testPlanData checks that a plan file's bytes round-trip exactly through
// SavePlan, LatestPlan and Plans, that replacing a plan replaces its bytes,
// and that nil and empty PlanData both come back nil.
func testPlanData(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Every byte value, including NUL and invalid UTF-8, in a file larger
	// than one page.
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	tests := []struct {
		name string
		data []byte
		want []byte
	}{
		{name: "binary", data: big, want: big},
		{name: "small", data: []byte("PK\x03\x04plan"), want: []byte("PK\x03\x04plan")},
		{name: "nil", data: nil, want: nil},
		{name: "empty", data: []byte{}, want: nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := 100 + i
			p := store.Plan{Repo: "o/data", PR: pr, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
				Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/x", PlanSHA256: "abc",
				PlanData: tt.data, Result: []byte(`{}`), CreatedAt: t0}
			id, err := s.SavePlan(ctx, p)
			if err != nil {
				t.Fatalf("SavePlan: %v", err)
			}
			want := p
			want.ID, want.PlanData = id, tt.want

			latest, err := s.LatestPlan(ctx, "o/data", pr, "app")
			if err != nil {
				t.Fatalf("LatestPlan: %v", err)
			}
			if diff := cmp.Diff(latest, &want); diff != "" {
				t.Errorf("LatestPlan mismatch (-got +want):\n%s", diff)
			}
			plans, err := s.Plans(ctx, "o/data", pr, "h1")
			if err != nil {
				t.Fatalf("Plans: %v", err)
			}
			if diff := cmp.Diff(plans, []store.Plan{want}); diff != "" {
				t.Errorf("Plans mismatch (-got +want):\n%s", diff)
			}
		})
	}

	t.Run("replace", func(t *testing.T) {
		// A replanned project (same head SHA) replaces the stored bytes, and
		// a failed replan leaves no stale plan file behind.
		p := store.Plan{Repo: "o/data", PR: 200, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
			Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/y", PlanSHA256: "abc",
			PlanData: []byte("first"), Result: []byte(`{}`), CreatedAt: t0}
		if _, err := s.SavePlan(ctx, p); err != nil {
			t.Fatalf("SavePlan(first): %v", err)
		}
		p.PlanData, p.CreatedAt = []byte("second"), t0.Add(time.Minute)
		if _, err := s.SavePlan(ctx, p); err != nil {
			t.Fatalf("SavePlan(second): %v", err)
		}
		latest, err := s.LatestPlan(ctx, "o/data", 200, "app")
		if err != nil {
			t.Fatalf("LatestPlan: %v", err)
		}
		if diff := cmp.Diff(latest.PlanData, []byte("second")); diff != "" {
			t.Errorf("PlanData after replan mismatch (-got +want):\n%s", diff)
		}
		p.Status, p.PlanData, p.CreatedAt = "errored", nil, t0.Add(2*time.Minute)
		if _, err := s.SavePlan(ctx, p); err != nil {
			t.Fatalf("SavePlan(failed): %v", err)
		}
		latest, err = s.LatestPlan(ctx, "o/data", 200, "app")
		if err != nil {
			t.Fatalf("LatestPlan: %v", err)
		}
		if latest.PlanData != nil {
			t.Errorf("PlanData after failed replan = %q; want nil", latest.PlanData)
		}
	})
}

// entry returns a test audit entry.
func entry(repo string, pr int, action, delivery string) audit.Entry {
	return audit.Entry{
		Repo: repo, PR: pr, HeadSHA: "h" + delivery, BaseSHA: "b", Project: "app", Action: action,
		Actor: "alice", Outcome: "ok", Detail: "d", PlanSHA256: "p", DeliveryID: delivery,
	}
}

func mustAppend(t *testing.T, s store.Store, e audit.Entry) audit.Entry {
	t.Helper()
	got, ok, err := s.AppendAudit(t.Context(), e)
	if err != nil || !ok {
		t.Fatalf("AppendAudit(%s) = %v, %v; want inserted", e.DeliveryID, ok, err)
	}
	return got
}

func mustAudit(t *testing.T, s store.Store, f store.AuditFilter) []audit.Entry {
	t.Helper()
	got, err := s.Audit(t.Context(), f)
	if err != nil {
		t.Fatalf("Audit(%+v): %v", f, err)
	}
	return got
}

func testAuditChain(t *testing.T, s store.Store) {
	var stored []audit.Entry
	for i, action := range []string{audit.ActionPlan, audit.ActionApplyRequested, audit.ActionApply} {
		e := entry("o/r", 1, action, fmt.Sprintf("d%d", i))
		e.Time = t0.Add(time.Duration(i) * time.Second)
		if i == 1 {
			e.Approvers = []audit.Approver{{Login: "bob", Rule: "/infra/ @o/sre"}, {Login: "carol", Rule: "*"}}
		}
		got := mustAppend(t, s, e)
		e.Seq = int64(i + 1)
		if i > 0 {
			e.PrevHash = stored[i-1].Hash
		}
		if e.Approvers == nil {
			e.Approvers = []audit.Approver{}
		}
		e.Hash = e.ComputeHash()
		if diff := cmp.Diff(got, e); diff != "" {
			t.Errorf("AppendAudit(%d) mismatch (-got +want):\n%s", i, diff)
		}
		stored = append(stored, got)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	if diff := cmp.Diff(all, stored); diff != "" {
		t.Errorf("Audit mismatch (-got +want):\n%s", diff)
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}

func testAuditIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := entry("o/r", 1, audit.ActionApply, "d1")
	e.Time = t0
	first := mustAppend(t, s, e)

	// A redelivery differs in time and outcome but has the same key.
	redelivered := e
	redelivered.Time, redelivered.Outcome = t0.Add(time.Hour), "other"
	got, ok, err := s.AppendAudit(ctx, redelivered)
	if err != nil || ok {
		t.Fatalf("AppendAudit(redelivered) = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(got, first); diff != "" {
		t.Errorf("AppendAudit(redelivered) mismatch (-got +want):\n%s", diff)
	}
	// A different action of the same delivery is a new entry.
	other := e
	other.Action = audit.ActionMerge
	second := mustAppend(t, s, other)
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("second entry seq %d prev %q; want 2, %q", second.Seq, second.PrevHash, first.Hash)
	}
	if n := len(mustAudit(t, s, store.AuditFilter{})); n != 2 {
		t.Errorf("Audit has %d entries; want 2", n)
	}
}

func testAuditTime(t *testing.T, s store.Store) {
	// A zero time becomes the current time; other times are normalized to
	// UTC with microsecond precision.
	before := time.Now().UTC().Add(-time.Second)
	zero := mustAppend(t, s, entry("o/r", 1, audit.ActionPlan, "d1"))
	if zero.Time.Before(before) || zero.Time.After(time.Now().Add(time.Minute)) || zero.Time.Location() != time.UTC {
		t.Errorf("Time of an entry without one = %v; want the current UTC time", zero.Time)
	}
	e := entry("o/r", 1, audit.ActionPlan, "d2")
	e.Time = time.Date(2025, 3, 4, 7, 6, 7, 123456789, time.FixedZone("X", 2*3600))
	got := mustAppend(t, s, e)
	want := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	if !got.Time.Equal(want) || got.Time.Location() != time.UTC {
		t.Errorf("stored Time = %v; want %v", got.Time, want)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	if diff := cmp.Diff(all, []audit.Entry{zero, got}); diff != "" {
		t.Errorf("Audit mismatch (-got +want):\n%s", diff)
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}

func testAuditFilter(t *testing.T, s store.Store) {
	var all []audit.Entry
	for i, e := range []audit.Entry{
		entry("o/r", 1, audit.ActionPlan, "d1"),
		entry("o/r", 2, audit.ActionPlan, "d2"),
		entry("o/other", 1, audit.ActionPlan, "d3"),
		entry("o/r", 1, audit.ActionApply, "d4"),
	} {
		e.Time = t0.Add(time.Duration(i) * time.Hour)
		all = append(all, mustAppend(t, s, e))
	}
	seqs := func(es []audit.Entry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		name   string
		filter store.AuditFilter
		want   []int64
	}{
		{name: "all", filter: store.AuditFilter{}, want: []int64{1, 2, 3, 4}},
		{name: "repo", filter: store.AuditFilter{Repo: "o/r"}, want: []int64{1, 2, 4}},
		{name: "repo and pr", filter: store.AuditFilter{Repo: "o/r", PR: 1}, want: []int64{1, 4}},
		{name: "since inclusive", filter: store.AuditFilter{Since: t0.Add(time.Hour)}, want: []int64{2, 3, 4}},
		{name: "since in another zone", filter: store.AuditFilter{Since: t0.Add(2*time.Hour + time.Second).In(time.FixedZone("Y", -5*3600))}, want: []int64{4}},
		{name: "repo and since", filter: store.AuditFilter{Repo: "o/r", Since: t0.Add(30 * time.Minute)}, want: []int64{2, 4}},
		{name: "no match", filter: store.AuditFilter{Repo: "o/none"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := seqs(mustAudit(t, s, tt.filter))
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Audit(%+v) seqs mismatch (-got +want):\n%s", tt.filter, diff)
			}
		})
	}
	if diff := cmp.Diff(mustAudit(t, s, store.AuditFilter{}), all); diff != "" {
		t.Errorf("Audit(all) mismatch (-got +want):\n%s", diff)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) { AppendConcurrently(t, s) }

// AppendConcurrently appends audit entries from several writers per store
// at once, each also racing to write one shared entry. The result must be
// one linear chain that verifies, with the shared entry stored once.
// Passing several stores open on one database checks this across
// connection pools, as between processes.
func AppendConcurrently(t *testing.T, stores ...store.Store) {
	ctx := t.Context()
	s := stores[0]
	const (
		writers = 12
		each    = 5
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers*len(stores)*each*2)
	var mu sync.Mutex // mu guards inserted
	inserted := 0
	for w := range writers * len(stores) {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range each {
				// Every writer also races to write one shared entry, which
				// must be stored once.
				for _, e := range []audit.Entry{
					entry("o/r", w, audit.ActionPlan, fmt.Sprintf("w%d-%d", w, i)),
					entry("o/r", 99, audit.ActionApply, "shared"),
				} {
					_, ok, err := s.AppendAudit(ctx, e)
					if err != nil {
						errs <- err
						return
					}
					if ok {
						mu.Lock()
						inserted++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AppendAudit: %v", err)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	want := writers*len(stores)*each + 1
	if len(all) != want || inserted != want {
		t.Fatalf("got %d entries, %d reported inserted; want %d", len(all), inserted, want)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d; want %d", i, e.Seq, i+1)
		}
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}

func testPlanComment(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.PlanComment(ctx, "acme/infra", 1)
	if err != nil || len(got) != 0 {
		t.Fatalf("PlanComment of an unknown PR = %v, %v; want none", got, err)
	}
	two := []store.CommentPart{{Part: 1, ID: 2_000_000_001, BodySHA256: "aa"}, {Part: 2, ID: 9_007_199_254_740_993, BodySHA256: "bb"}}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, two); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePlanComment(ctx, "acme/infra", 2, []store.CommentPart{{Part: 1, ID: 7, BodySHA256: "cc"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || !cmp.Equal(got, two) {
		t.Fatalf("PlanComment = %v, %v; want %v", got, err, two)
	}
	// Saving replaces every part: a shorter comment forgets the rest.
	one := []store.CommentPart{{Part: 1, ID: 2_000_000_001, BodySHA256: "dd"}}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, one); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || !cmp.Equal(got, one) {
		t.Fatalf("PlanComment after replacing = %v, %v; want %v", got, err, one)
	}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || len(got) != 0 {
		t.Fatalf("PlanComment after forgetting = %v, %v; want none", got, err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 2); err != nil || len(got) != 1 || got[0].ID != 7 {
		t.Fatalf("another PR's plan comment = %v, %v; want kept", got, err)
	}
}
