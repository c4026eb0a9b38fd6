package sqlite

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// TestPruneJobsBatches checks that pruning a backlog larger than one batch
// deletes all of it, over several statements, and nothing pending.
func TestPruneJobsBatches(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// 25 finished jobs, alternately done and failed, and 3 queued ones,
	// all finished (or created) at t0.
	if _, err := db.w.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 28)
		INSERT INTO jobs (delivery_id, event, payload, state, created_at, finished_at)
		SELECT 'd' || i, 'e', x'', CASE WHEN i > 25 THEN 'queued' WHEN i % 2 = 0 THEN 'done' ELSE 'failed' END,
			?1, CASE WHEN i > 25 THEN NULL ELSE ?1 END FROM n`, micros(t0)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		before time.Time
		want   int
	}{
		{"at the cutoff", t0, 0},
		{"after", t0.Add(time.Microsecond), 25},
		{"again", t0.Add(time.Hour), 0},
	} {
		n, err := db.pruneJobs(ctx, tt.before, 10)
		if err != nil || n != tt.want {
			t.Errorf("%s: pruneJobs = %d, %v; want %d, nil", tt.name, n, err, tt.want)
		}
	}
	var left int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE state = 'queued'`).Scan(&left); err != nil || left != 3 {
		t.Errorf("queued jobs left = %d, %v; want 3", left, err)
	}
}
