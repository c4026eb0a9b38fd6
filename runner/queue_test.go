package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

func enqueue(t *testing.T, st store.Store, id, key string) {
	t.Helper()
	if _, err := st.EnqueueDelivery(context.Background(), store.Job{DeliveryID: id, Event: "pull_request", Payload: []byte("{}"), Key: key}); err != nil {
		t.Fatal(err)
	}
}

// startQueue runs q until the returned stop is called; stop waits for Run
// to return.
func startQueue(q *Queue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	return func() {
		cancel()
		<-done
	}
}

func waitState(t *testing.T, st store.Store, id, state string) *store.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := st.Job(context.Background(), id)
		if err == nil && j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached %s (last %+v, %v)", id, state, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueRetriesThenGivesUp runs a failing job MaxAttempts times and a
// panicking one is recorded as failed instead of killing the worker.
func TestQueueRetriesThenGivesUp(t *testing.T) {
	st := sqlitetest.New(t)
	var runs sync.Map
	q := &Queue{Jobs: st, Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 3,
		Backoff: func(int) time.Duration { return 0 },
		Handle: func(ctx context.Context, j store.Job) error {
			n, _ := runs.LoadOrStore(j.DeliveryID, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			switch j.DeliveryID {
			case "fails":
				return errors.New("boom")
			case "panics":
				panic("bad payload")
			}
			return nil
		}}
	enqueue(t, st, "ok", "a#1")
	enqueue(t, st, "fails", "a#2")
	enqueue(t, st, "panics", "a#3")
	stop := startQueue(q)
	waitState(t, st, "ok", store.JobDone)
	failed := waitState(t, st, "fails", store.JobFailed)
	if failed.LastError != "boom" {
		t.Errorf("LastError = %q", failed.LastError)
	}
	p := waitState(t, st, "panics", store.JobFailed)
	if p.LastError == "" {
		t.Error("a panic left no error")
	}
	stop()
	for id, want := range map[string]int32{"ok": 1, "fails": 3, "panics": 3} {
		n, _ := runs.Load(id)
		if got := n.(*atomic.Int32).Load(); got != want {
			t.Errorf("%s ran %d times, want %d", id, got, want)
		}
	}
}

// TestQueueDrain lets an in-flight job finish after Run's context ends,
// and cancels one that outlives the drain timeout, leaving it to run again.
func TestQueueDrain(t *testing.T) {
	for _, tt := range []struct {
		name      string
		jobTakes  time.Duration
		drain     time.Duration
		wantState string
	}{
		{name: "finishes within the drain", jobTakes: 200 * time.Millisecond, drain: 10 * time.Second, wantState: store.JobDone},
		{name: "cancelled after the drain", jobTakes: time.Hour, drain: 100 * time.Millisecond, wantState: store.JobRunning},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := sqlitetest.New(t)
			started := make(chan struct{})
			q := &Queue{Jobs: st, Workers: 1, Poll: 10 * time.Millisecond, DrainTimeout: tt.drain, Lease: 30 * time.Second,
				Handle: func(ctx context.Context, j store.Job) error {
					close(started)
					select {
					case <-time.After(tt.jobTakes):
						return nil
					case <-ctx.Done():
						return fmt.Errorf("interrupted: %w", ctx.Err())
					}
				}}
			enqueue(t, st, "job", "a#1")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- q.Run(ctx) }()
			<-started
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
			j, err := st.Job(context.Background(), "job")
			if err != nil {
				t.Fatal(err)
			}
			if j.State != tt.wantState {
				t.Errorf("job state = %s, want %s", j.State, tt.wantState)
			}
		})
	}
}

func TestExponentialBackoff(t *testing.T) {
	for _, tt := range []struct {
		name    string
		attempt int
		u       float64
		want    time.Duration
	}{
		{name: "first attempt, no jitter", attempt: 1, u: 0.5, want: 15 * time.Second},
		{name: "first attempt, lowest jitter", attempt: 1, u: 0, want: 12 * time.Second},
		{name: "first attempt, highest jitter", attempt: 1, u: 1, want: 18 * time.Second},
		{name: "second attempt doubles", attempt: 2, u: 0.5, want: 30 * time.Second},
		{name: "third attempt", attempt: 3, u: 0.5, want: time.Minute},
		{name: "sixth attempt", attempt: 6, u: 0.5, want: 8 * time.Minute},
		{name: "seventh attempt is capped", attempt: 7, u: 0.5, want: 10 * time.Minute},
		{name: "capped with jitter", attempt: 7, u: 0, want: 8 * time.Minute},
		{name: "huge attempt does not overflow", attempt: 1000, u: 1, want: 12 * time.Minute},
		{name: "attempt zero is treated as the first", attempt: 0, u: 0.5, want: 15 * time.Second},
		{name: "u out of range is clamped", attempt: 1, u: 7, want: 18 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExponentialBackoff(tt.attempt, tt.u); got != tt.want {
				t.Errorf("ExponentialBackoff(%d, %v) = %v; want %v", tt.attempt, tt.u, got, tt.want)
			}
		})
	}
}

func TestDefaultBackoffWithinJitter(t *testing.T) {
	for attempt := 1; attempt <= 8; attempt++ {
		mid := ExponentialBackoff(attempt, 0.5)
		for range 100 {
			got := DefaultBackoff(attempt)
			if lo, hi := mid*8/10, mid*12/10; got < lo || got > hi {
				t.Fatalf("DefaultBackoff(%d) = %v; want within [%v, %v]", attempt, got, lo, hi)
			}
		}
	}
}

// clock is a Queue.Now that moves only when the test sets it.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// claimRecorder passes calls to the store and records each Claim's now and
// the delivery it returned ("" for none).
type claimRecorder struct {
	Jobs
	mu     sync.Mutex // guards claims
	claims []claimCall
}

type claimCall struct {
	now      time.Time
	delivery string
}

func (r *claimRecorder) Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error) {
	j, err := r.Jobs.Claim(ctx, owner, now, leaseUntil)
	c := claimCall{now: now}
	if j != nil {
		c.delivery = j.DeliveryID
	}
	r.mu.Lock()
	r.claims = append(r.claims, c)
	r.mu.Unlock()
	return j, err
}

// waitClaimAt waits for a Claim made at now and returns what it claimed.
func (r *claimRecorder) waitClaimAt(t *testing.T, now time.Time) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		for _, c := range r.claims {
			if c.now.Equal(now) {
				r.mu.Unlock()
				return c.delivery
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no Claim at %v", now)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitJob waits until ok reports true for the stored job id.
func waitJob(t *testing.T, st store.Store, id string, ok func(*store.Job) bool) *store.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := st.Job(context.Background(), id)
		if err == nil && ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached the expected state (last %+v, %v)", id, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueRetryWaitsForBackoff fails a job once and checks that it is not
// run again before its backoff has passed on the Queue's clock, that the
// newer job of its key waits behind it, and that another key's job runs
// meanwhile.
func TestQueueRetryWaitsForBackoff(t *testing.T) {
	st := sqlitetest.New(t)
	rec := &claimRecorder{Jobs: st}
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clk := &clock{t: t0}

	var mu sync.Mutex // guards the fields below
	var backoffs []int
	var key1Runs []string   // deliveries of key a#1, in the order they ran
	var flakyAt []time.Time // the clock at each run of "flaky"
	q := &Queue{Jobs: rec, Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 3, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Backoff: func(attempt int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			backoffs = append(backoffs, attempt)
			return time.Duration(attempt) * time.Minute
		},
		Handle: func(ctx context.Context, j store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			if j.Key == "a#1" {
				key1Runs = append(key1Runs, j.DeliveryID)
			}
			if j.DeliveryID == "flaky" {
				flakyAt = append(flakyAt, clk.Now())
				if j.Attempts == 1 {
					return errors.New("GitHub answered 502")
				}
			}
			return nil
		}}
	enqueue(t, st, "flaky", "a#1")
	enqueue(t, st, "next", "a#1")
	enqueue(t, st, "other", "a#2")
	defer startQueue(q)()

	waiting := waitJob(t, st, "flaky", func(j *store.Job) bool { return j.State == store.JobQueued && j.Attempts == 1 })
	if want := t0.Add(time.Minute); !waiting.RunAfter.Equal(want) || waiting.LastError != "GitHub answered 502" {
		t.Errorf("after the failed attempt: RunAfter %v LastError %q; want %v, %q", waiting.RunAfter, waiting.LastError, want, "GitHub answered 502")
	}
	waitState(t, st, "other", store.JobDone)

	// Just before the backoff ends nothing of key a#1 is claimed.
	before := t0.Add(time.Minute - time.Second)
	clk.Set(before)
	q.Notify()
	if got := rec.waitClaimAt(t, before); got != "" {
		t.Errorf("Claim before the backoff ended = %q; want none", got)
	}
	for _, id := range []string{"flaky", "next"} {
		if j := waitState(t, st, id, store.JobQueued); id == "flaky" && j.Attempts != 1 {
			t.Errorf("flaky Attempts before the backoff ended = %d; want 1", j.Attempts)
		}
	}

	clk.Set(t0.Add(time.Minute))
	q.Notify()
	waitState(t, st, "flaky", store.JobDone)
	waitState(t, st, "next", store.JobDone)

	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(key1Runs, []string{"flaky", "flaky", "next"}); diff != "" {
		t.Errorf("runs of key a#1 mismatch (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(flakyAt, []time.Time{t0, t0.Add(time.Minute)}); diff != "" {
		t.Errorf("clock at the runs of flaky mismatch (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(backoffs, []int{1}); diff != "" {
		t.Errorf("Backoff calls mismatch (-got +want):\n%s", diff)
	}
}

func TestBackoffFrom(t *testing.T) {
	b := BackoffFrom(time.Second)
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 10: 40 * time.Second} {
		got := b(attempt)
		if lo, hi := want*8/10, want*12/10; got < lo || got > hi {
			t.Errorf("attempt %d: %v, want within [%v, %v]", attempt, got, lo, hi)
		}
	}
}

// TestQueuePostponesRateLimitedJob has GitHub rate-limit a job's first run
// for two hours. With one attempt allowed, a counted failure would fail it
// for good: instead it waits, queued, until the limit's reset, with the
// newer job of its key behind it, and then runs on its first attempt. A
// limit that is already over when reported still waits a second.
func TestQueuePostponesRateLimitedJob(t *testing.T) {
	st := sqlitetest.New(t)
	rec := &claimRecorder{Jobs: st}
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clk := &clock{t: t0}
	reset := t0.Add(2 * time.Hour)
	m := NewMetrics(metrics.New())

	var mu sync.Mutex // guards the field below
	var runs []string
	limit := func(until time.Time) error {
		rl := &githubapp.RateLimitError{Until: until, Err: errors.New("403 API rate limit exceeded")}
		return fmt.Errorf("plan: %w", &planbot.Error{Code: planbot.EINTERNAL, Message: "get pull request: GitHub rate limit", Err: rl})
	}
	q := &Queue{Jobs: rec, Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 1, Now: clk.Now, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Handle: func(ctx context.Context, j store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, fmt.Sprintf("%s#%d", j.DeliveryID, j.Attempts))
			if clk.Now().Equal(t0) {
				switch j.DeliveryID {
				case "limited":
					return limit(reset)
				case "stale":
					return limit(t0.Add(-time.Hour))
				}
			}
			return nil
		}}
	enqueue(t, st, "limited", "a#1")
	enqueue(t, st, "next", "a#1")
	enqueue(t, st, "stale", "a#2")
	defer startQueue(q)()

	waiting := waitJob(t, st, "limited", func(j *store.Job) bool { return j.State == store.JobQueued && !j.RunAfter.IsZero() })
	if waiting.Attempts != 0 || !waiting.RunAfter.Equal(reset) || !strings.Contains(waiting.LastError, "postponed until 2025-03-04T07:06:07Z") {
		t.Errorf("rate-limited job: Attempts %d RunAfter %v LastError %q; want 0, %v, postponed until the reset",
			waiting.Attempts, waiting.RunAfter, waiting.LastError, reset)
	}
	stale := waitJob(t, st, "stale", func(j *store.Job) bool { return j.State == store.JobQueued && !j.RunAfter.IsZero() })
	if want := t0.Add(time.Second); !stale.RunAfter.Equal(want) || stale.Attempts != 0 {
		t.Errorf("job limited until the past: RunAfter %v Attempts %d; want %v, 0", stale.RunAfter, stale.Attempts, want)
	}

	// A second before the reset, only the stale job runs.
	before := reset.Add(-time.Second)
	clk.Set(before)
	q.Notify()
	waitState(t, st, "stale", store.JobDone)
	for _, id := range []string{"limited", "next"} {
		if j := waitState(t, st, id, store.JobQueued); j.Attempts != 0 {
			t.Errorf("%s Attempts before the reset = %d; want 0", id, j.Attempts)
		}
	}

	clk.Set(reset)
	q.Notify()
	waitState(t, st, "limited", store.JobDone)
	waitState(t, st, "next", store.JobDone)

	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(runs, []string{"limited#1", "stale#1", "stale#1", "limited#1", "next#1"}, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("runs mismatch (-got +want):\n%s", diff)
	}
	for result, want := range map[string]float64{JobPostponed: 2, JobDone: 3, JobFailed: 0, JobRetried: 0} {
		if got := m.Jobs.Value("pull_request", result); got != want {
			t.Errorf("jobs %s = %v, want %v", result, got, want)
		}
	}
}

// claimCounter counts the claims that found nothing to do.
type claimCounter struct {
	Jobs
	empty atomic.Int32
}

func (c *claimCounter) Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error) {
	j, err := c.Jobs.Claim(ctx, owner, now, leaseUntil)
	if j == nil && err == nil {
		c.empty.Add(1)
	}
	return j, err
}

// TestQueueBurstWakesEveryWorker stores a burst of jobs while every worker
// sleeps and notifies once, as the webhook handler does per delivery when
// they arrive together: every worker starts a job without waiting for its
// poll, which here never comes.
func TestQueueBurstWakesEveryWorker(t *testing.T) {
	const workers = 4
	st := sqlitetest.New(t)
	jobs := &claimCounter{Jobs: st}
	var running atomic.Int32
	release := make(chan struct{})
	q := &Queue{Jobs: jobs, Workers: workers, Poll: time.Hour,
		Handle: func(ctx context.Context, j store.Job) error {
			running.Add(1)
			<-release
			return nil
		}}
	stop := startQueue(q)
	defer func() { close(release); stop() }()
	waitUntil(t, "every worker idle", func() bool { return jobs.empty.Load() >= workers })

	for i := range workers {
		enqueue(t, st, fmt.Sprintf("burst-%d", i), fmt.Sprintf("a#%d", i))
	}
	q.Notify()
	waitUntil(t, "every worker running a job", func() bool { return running.Load() == workers })
}

// TestQueueOrder checks that jobs run in the order they were stored, across
// pull requests: a pull request's re-plan, stored after 99 other pull
// requests' first plans, waits for those that came before it and for no
// job stored after it.
func TestQueueOrder(t *testing.T) {
	st := sqlitetest.New(t)
	var mu sync.Mutex
	var got []string
	q := &Queue{Jobs: st, Workers: 1, Poll: 10 * time.Millisecond,
		Handle: func(ctx context.Context, j store.Job) error {
			mu.Lock()
			got = append(got, j.DeliveryID)
			mu.Unlock()
			return nil
		}}
	var want []string
	add := func(id, key string) {
		enqueue(t, st, id, key)
		want = append(want, id)
	}
	for i := 1; i <= 100; i++ {
		add(fmt.Sprintf("open-%d", i), fmt.Sprintf("a#%d", i))
	}
	add("replan-1", "a#1")
	add("open-101", "a#101")
	stop := startQueue(q)
	waitState(t, st, "open-101", store.JobDone)
	stop()
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("run order (-got +want):\n%s", diff)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
