package livelog

import (
	"context"
	"time"

	"github.com/planbot/planbot/store"
)

// Reader reads a run's chunks back.
type Reader interface {
	Log(ctx context.Context, repo string, pr int, run string, after int64, limit int) ([]store.LogChunk, error)
}

// followBatch is how many chunks Follow reads at once.
const followBatch = 200

// Follow calls send with each chunk of a run with an ID above after, in
// order, reading the store again every poll while the run goes on. It
// returns nil after sending the run's End chunk, ctx's error when ctx
// ends first (the client went away, or the server stops), and send's
// error when send fails.
func Follow(ctx context.Context, r Reader, repo string, pr int, run string, after int64, poll time.Duration, send func(store.LogChunk) error) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		chunks, err := r.Log(ctx, repo, pr, run, after, followBatch)
		if err != nil {
			return err
		}
		for _, c := range chunks {
			if err := send(c); err != nil {
				return err
			}
			after = c.ID
			if c.End {
				return nil
			}
		}
		if len(chunks) == followBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
