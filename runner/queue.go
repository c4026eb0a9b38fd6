// Package runner does planbot's work. A Queue claims stored deliveries from
// the store with a lease and runs them on a bounded pool of workers; a
// Handler routes each delivery to the plan, apply or cleanup flow; those
// flows check PRs out into isolated workspaces and run Terraform (package
// runner/terraform) or Kustomize (package runner/kustomize) under a global
// parallelism limit, with project locks taken in the store.
//
// A Janitor deletes finished jobs once they are older than the retention,
// which must outlast GitHub's 3-day redelivery window.
//
// A Redeliverer closes the remaining gap: GitHub never redelivers a webhook
// on its own, so deliveries that failed while planbot was down are listed
// from the App's delivery log and redelivered.
//
// Jobs run under the server's context with a per-job timeout, not under the
// request that delivered them. On shutdown the queue stops claiming, lets
// in-flight jobs finish for a drain period and then cancels them; a job that
// did not finish is claimed again, by this or another replica, when its lease
// expires. A job that returned an error is retried, up to MaxAttempts, after
// a backoff that grows with each attempt, so that a job that failed because
// GitHub answered 5xx does not hammer GitHub again at once. A job that GitHub
// rate-limited (an error with a LimitedUntil method, such as
// githubapp.RateLimitError) is postponed instead: it waits
// until the limit ends, and the attempt is not counted, so that a limit that
// lasts an hour never uses up a job's retries.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/planbot/planbot/store"
)

// Jobs is the part of the store the queue uses.
type Jobs interface {
	Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*store.Job, error)
	Extend(ctx context.Context, id int64, owner string, leaseUntil time.Time) error
	Finish(ctx context.Context, id int64, owner, errMsg string, maxAttempts int, retryAt time.Time) error
	Postpone(ctx context.Context, id int64, owner, reason string, runAfter time.Time) error
}

// rateLimited is an error that GitHub's rate limit caused: no request
// should be made before LimitedUntil.
type rateLimited interface {
	error
	LimitedUntil() time.Time
}

// Bounds of a rate-limited job's wait: at least a second, so a limit that
// ends as it is reported does not spin, and at most a day, so a nonsensical
// reset time cannot park a job for good.
const (
	minRateLimitWait = time.Second
	maxRateLimitWait = 24 * time.Hour
)

// Backoff bounds of DefaultBackoff.
const (
	backoffBase = 15 * time.Second
	backoffMax  = 10 * time.Minute
)

// ExponentialBackoff returns the delay before retrying a job whose attempt
// (1 for the first run) failed: 15s·2^(attempt-1), capped at 10 minutes, then
// scaled by 0.8+0.4·u for a jitter of ±20%. u is a random number in [0, 1);
// given u, the result is fixed.
func ExponentialBackoff(attempt int, u float64) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	u = max(0, min(u, 1))
	return time.Duration(float64(d) * (0.8 + 0.4*u))
}

// DefaultBackoff is ExponentialBackoff with a random jitter: from 12s–18s
// after the first failed attempt up to 8–12 minutes.
func DefaultBackoff(attempt int) time.Duration {
	return ExponentialBackoff(attempt, rand.Float64())
}

// BackoffFrom returns DefaultBackoff rescaled so that the first retry waits
// about first: later retries double, up to 40 times first.
func BackoffFrom(first time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		return time.Duration(float64(DefaultBackoff(attempt)) * float64(first) / float64(backoffBase))
	}
}

// Queue runs stored jobs on a pool of workers.
type Queue struct {
	Jobs   Jobs
	Handle func(ctx context.Context, j store.Job) error
	// Workers is the number of jobs run at once.
	Workers int
	// Lease is how long a claim lasts without renewal; workers renew it
	// every Lease/3 while a job runs.
	Lease time.Duration
	// JobTimeout bounds one job.
	JobTimeout time.Duration
	// DrainTimeout is how long in-flight jobs may run after Run's context
	// is cancelled.
	DrainTimeout time.Duration
	// Poll is how often idle workers look for work when not woken.
	Poll time.Duration
	// MaxAttempts is how often a failing job is tried.
	MaxAttempts int
	// Backoff returns how long a job whose attempt (1 for the first run)
	// returned an error waits before it may be claimed again; nil means
	// DefaultBackoff. Jobs of the same key queued after it wait too.
	Backoff func(attempt int) time.Duration
	// Owner identifies this process in leases.
	Owner string
	// Metrics, when set, records job runs.
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time

	once sync.Once
	wake chan struct{}
}

func (q *Queue) init() {
	q.once.Do(func() {
		q.wake = make(chan struct{}, 1)
		if q.Workers <= 0 {
			q.Workers = 1
		}
		if q.Lease <= 0 {
			q.Lease = time.Minute
		}
		if q.JobTimeout <= 0 {
			q.JobTimeout = 30 * time.Minute
		}
		if q.Poll <= 0 {
			q.Poll = time.Second
		}
		if q.MaxAttempts <= 0 {
			q.MaxAttempts = 3
		}
		if q.Owner == "" {
			host, _ := os.Hostname()
			q.Owner = fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
		}
		if q.Now == nil {
			q.Now = time.Now
		}
		if q.Backoff == nil {
			q.Backoff = DefaultBackoff
		}
		if q.Logger == nil {
			q.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify wakes an idle worker: a job was just stored.
func (q *Queue) Notify() {
	q.init()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run runs workers until ctx is cancelled, then drains: in-flight jobs get
// DrainTimeout to finish before their contexts are cancelled. It returns
// once every worker has stopped.
func (q *Queue) Run(ctx context.Context) error {
	q.init()
	// hard is cancelled DrainTimeout after ctx: it bounds in-flight jobs.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.NewTimer(q.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelHard()
		case <-hard.Done():
		}
	})
	defer stopDrain()

	var wg sync.WaitGroup
	for i := 0; i < q.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.work(ctx, hard)
		}()
	}
	wg.Wait()
	return nil
}

func (q *Queue) work(ctx, hard context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		now := q.Now()
		j, err := q.Jobs.Claim(ctx, q.Owner, now, now.Add(q.Lease))
		if err != nil {
			if ctx.Err() == nil {
				q.Logger.Error("claim job", "err", err)
			}
		}
		if j != nil {
			// More may be waiting, as after a burst of webhooks: wake
			// another idle worker to look, rather than leave it asleep
			// until its next poll.
			q.Notify()
			q.run(hard, *j)
			continue
		}
		timer.Reset(q.Poll)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// run runs one claimed job, renewing its lease until it finishes.
func (q *Queue) run(hard context.Context, j store.Job) {
	log := q.Logger.With("delivery", j.DeliveryID, "event", j.Event, "job", j.ID)
	ctx, cancel := context.WithTimeout(hard, q.JobTimeout)
	defer cancel()

	heartbeat := make(chan struct{})
	go func() {
		defer close(heartbeat)
		t := time.NewTicker(q.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := q.Jobs.Extend(ctx, j.ID, q.Owner, q.Now().Add(q.Lease)); err != nil {
					if ctx.Err() == nil {
						log.Error("lost job lease; cancelling", "err", err)
						cancel()
					}
					return
				}
			}
		}
	}()

	start := time.Now()
	q.Metrics.jobStarted()
	var err error
	if j.Attempts > q.MaxAttempts {
		// Its earlier runs died with their workers (a crash or OOM kill);
		// give up instead of crashing again.
		err = fmt.Errorf("gave up after %d attempts", j.Attempts-1)
	} else {
		err = q.safeHandle(ctx, j)
	}
	cancel()
	<-heartbeat
	var limited rateLimited
	if errors.As(err, &limited) {
		q.postpone(hard, log, j, limited.LimitedUntil(), err, start)
		return
	}
	msg := ""
	var retryAt time.Time
	result := JobDone
	if err != nil {
		result = JobFailed
		msg = err.Error()
		attrs := []any{"err", err, "attempt", j.Attempts, "elapsed", time.Since(start)}
		if j.Attempts < q.MaxAttempts {
			// The store ignores retryAt for a job out of attempts.
			retryAt = q.Now().Add(q.Backoff(j.Attempts))
			result = JobRetried
			attrs = append(attrs, "retry_at", retryAt)
		}
		log.Error("job failed", attrs...)
	} else {
		log.Info("job done", "elapsed", time.Since(start))
	}
	if hard.Err() != nil && errors.Is(err, context.Canceled) {
		// Shutting down: leave the lease to expire so the job runs again.
		log.Warn("job interrupted by shutdown; it will run again")
		q.Metrics.jobFinished(j.Event, JobInterrupted, time.Since(start))
		return
	}
	q.Metrics.jobFinished(j.Event, result, time.Since(start))
	// Finish under a fresh context: the job's own may be expired.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(hard), 30*time.Second)
	defer fcancel()
	if err := q.Jobs.Finish(fctx, j.ID, q.Owner, msg, q.MaxAttempts, retryAt); err != nil {
		log.Error("finish job", "err", err)
	}
}

// postpone puts a job that GitHub rate-limited back in the queue until the
// limit ends, without counting its attempt.
func (q *Queue) postpone(hard context.Context, log *slog.Logger, j store.Job, until time.Time, err error, start time.Time) {
	now := q.Now()
	if lo := now.Add(minRateLimitWait); until.Before(lo) {
		until = lo
	}
	if hi := now.Add(maxRateLimitWait); until.After(hi) {
		until = hi
	}
	log.Warn("GitHub rate limit; job postponed until it ends", "err", err, "until", until, "attempt", j.Attempts, "elapsed", time.Since(start))
	q.Metrics.jobFinished(j.Event, JobPostponed, time.Since(start))
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(hard), 30*time.Second)
	defer fcancel()
	reason := "postponed until " + until.UTC().Format(time.RFC3339) + ": " + err.Error()
	if err := q.Jobs.Postpone(fctx, j.ID, q.Owner, reason, until); err != nil {
		log.Error("postpone job", "err", err)
	}
}

func (q *Queue) safeHandle(ctx context.Context, j store.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return q.Handle(ctx, j)
}
