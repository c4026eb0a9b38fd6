package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/planbot/planbot/store"
)

// DefaultDepthInterval is the time between two counts of a Depth: a
// common Prometheus scrape interval.
const DefaultDepthInterval = 15 * time.Second

// JobCounter is the part of the store a Depth uses.
type JobCounter interface {
	CountJobs(ctx context.Context, now time.Time) (store.JobCounts, error)
}

// Depth keeps the queue depth and jobs in flight gauges (see Metrics) up to
// date: it counts the unfinished jobs in the store at start and then every
// Interval. The counts are the whole queue's, across replicas, so every
// replica reports the same values.
type Depth struct {
	Jobs JobCounter
	// Interval is the time between two counts; DefaultDepthInterval if
	// zero.
	Interval time.Duration
	Metrics  *Metrics
	Logger   *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Run counts at once and then every Interval until ctx ends, when it
// returns nil. A failed count is logged and leaves the gauges as they were
// until the next one.
func (d *Depth) Run(ctx context.Context) error {
	interval := d.Interval
	if interval <= 0 {
		interval = DefaultDepthInterval
	}
	return every(ctx, interval, d.Once, func(err error) {
		orDiscard(d.Logger).Warn("counting queued jobs", "err", err)
	})
}

// Once counts the unfinished jobs and sets the gauges.
func (d *Depth) Once(ctx context.Context) error {
	c, err := d.Jobs.CountJobs(ctx, clockNow(d.Now))
	if err != nil {
		return err
	}
	d.Metrics.counted(c)
	return nil
}
