package sqlstore_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
	"github.com/planbot/planbot/store/sqlite"
	"github.com/planbot/planbot/store/sqlstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends open a new, empty database of each backend.
var backends = []struct {
	name string
	open func(t *testing.T) (*sqlstore.DB, error)
}{
	{"sqlite", func(t *testing.T) (*sqlstore.DB, error) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return db.DB, nil
	}},
	{"postgres", func(t *testing.T) (*sqlstore.DB, error) {
		db, err := postgres.Open(t.Context(), pgtest.Start(t), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return db.DB, nil
	}},
}

// TestPruneJobsBatches checks, on each backend, that pruning a backlog
// larger than one batch deletes all of it, over several statements, and
// nothing pending.
func TestPruneJobsBatches(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testPruneJobsBatches(t, b.open) })
	}
}

func testPruneJobsBatches(t *testing.T, open func(t *testing.T) (*sqlstore.DB, error)) {
	ctx := t.Context()
	db, err := open(t)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// 25 finished jobs, alternately done and failed, and 3 queued ones,
	// all finished (or created) at t0.
	for i := 1; i <= 28; i++ {
		if _, err := db.EnqueueDelivery(ctx, store.Job{DeliveryID: fmt.Sprintf("d%d", i), Event: "e", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if i > 25 {
			continue
		}
		if _, err := sqlstore.Writer(db).ExecContext(ctx, `UPDATE jobs SET state = $1, finished_at = created_at WHERE delivery_id = $2`,
			[]string{"done", "failed"}[i%2], fmt.Sprintf("d%d", i)); err != nil {
			t.Fatal(err)
		}
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
		n, err := sqlstore.PruneJobsIn(ctx, db, tt.before, 10)
		if err != nil || n != tt.want {
			t.Errorf("%s: pruneJobs = %d, %v; want %d, nil", tt.name, n, err, tt.want)
		}
	}
	var left int
	if err := sqlstore.Writer(db).QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE state = 'queued'`).Scan(&left); err != nil || left != 3 {
		t.Errorf("queued jobs left = %d, %v; want 3", left, err)
	}
}
