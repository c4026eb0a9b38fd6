package runner

import (
	"context"
	"log/slog"
	"time"
)

// every runs pass at once and then every interval until ctx ends, when it
// returns nil. A failed pass is handed to failed, unless ctx ended during
// it, and the next pass comes at the next tick. Depth, Janitor and
// Redeliverer run their passes with it.
func every(ctx context.Context, interval time.Duration, pass func(context.Context) error, failed func(error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// clockNow returns now's time, or time.Now's when now is nil: a Now field
// of this package left nil is the real clock.
func clockNow(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// orDiscard returns log, or a logger that drops every record when log is
// nil: a Logger field of this package left nil logs nothing.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log != nil {
		return log
	}
	return slog.New(slog.DiscardHandler)
}
