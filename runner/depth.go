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
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := d.Once(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.logger().Warn("counting queued jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once counts the unfinished jobs and sets the gauges.
func (d *Depth) Once(ctx context.Context) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	c, err := d.Jobs.CountJobs(ctx, now())
	if err != nil {
		return err
	}
	d.Metrics.counted(c)
	return nil
}

func (d *Depth) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}
