package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Job retention defaults.
const (
	// MinJobRetention is the shortest retention a Janitor accepts:
	// GitHub's redelivery window of 3 days. A delivery pruned sooner could
	// be redelivered, be taken for a new one and run a second time.
	MinJobRetention = DefaultRedeliverWindow
	// DefaultJanitorInterval is the time between two prunes of a Janitor.
	DefaultJanitorInterval = time.Hour
)

// JobPruner is the part of the store a Janitor uses.
type JobPruner interface {
	// PruneJobs deletes the jobs that ended done or failed before
	// finishedBefore and returns how many.
	PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error)
}

// Janitor keeps the job table from growing forever. Every stored delivery,
// payload included, stays in the store after its job ends, so that a
// redelivery of it is recognised and not run again. A Janitor deletes the
// jobs that ended (done or failed) more than Retention ago, at start and
// then every Interval; queued and running jobs are never touched. Since a
// pruned delivery ID is forgotten, Retention must exceed GitHub's 3-day
// redelivery window. Plans and the audit log are not pruned. Every replica
// may run one: pruning twice deletes nothing more.
type Janitor struct {
	Jobs JobPruner
	// Retention is how long a finished job is kept; at least
	// MinJobRetention.
	Retention time.Duration
	// Interval is the time between two prunes; DefaultJanitorInterval if
	// zero.
	Interval time.Duration
	Logger   *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Run prunes at once and then every Interval until ctx ends, when it
// returns nil. A failed prune is logged and tried again at the next
// Interval. Run returns an error only when Retention is shorter than
// MinJobRetention.
func (j *Janitor) Run(ctx context.Context) error {
	if j.Retention < MinJobRetention {
		return fmt.Errorf("janitor: retention %v is shorter than GitHub's %v redelivery window", j.Retention, MinJobRetention)
	}
	interval := j.Interval
	if interval <= 0 {
		interval = DefaultJanitorInterval
	}
	prune := func(ctx context.Context) error {
		_, err := j.Once(ctx)
		return err
	}
	return every(ctx, interval, prune, func(err error) {
		orDiscard(j.Logger).Warn("pruning finished jobs", "err", err)
	})
}

// Once deletes the jobs that ended more than Retention ago and returns how
// many it deleted.
func (j *Janitor) Once(ctx context.Context) (int, error) {
	if j.Retention < MinJobRetention {
		return 0, fmt.Errorf("janitor: retention %v is shorter than GitHub's %v redelivery window", j.Retention, MinJobRetention)
	}
	before := clockNow(j.Now).Add(-j.Retention)
	n, err := j.Jobs.PruneJobs(ctx, before)
	if err != nil {
		return n, fmt.Errorf("prune jobs finished before %v: %w", before, err)
	}
	log := orDiscard(j.Logger)
	if n > 0 {
		log.Info("jobs pruned", "count", n, "before", before)
	} else {
		log.Debug("jobs pruned", "count", n, "before", before)
	}
	return n, nil
}
