package sqlstore_test

import (
	"errors"
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

// backend is a store of one backend and the shared part inside it.
type backend interface {
	store.Store
	shared() *sqlstore.DB
}

type sqliteDB struct{ *sqlite.DB }

func (db sqliteDB) shared() *sqlstore.DB { return db.DB.DB }

type postgresDB struct{ *postgres.DB }

func (db postgresDB) shared() *sqlstore.DB { return db.DB.DB }

// backends open a new, empty database of each backend.
var backends = []struct {
	name string
	open func(t *testing.T) (backend, error)
}{
	{"sqlite", func(t *testing.T) (backend, error) {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return sqliteDB{db}, nil
	}},
	{"postgres", func(t *testing.T) (backend, error) {
		db, err := postgres.Open(t.Context(), pgtest.Start(t), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, err
		}
		return postgresDB{db}, nil
	}},
}

// eachBackend runs test, as a subtest, on a new, empty database of each
// backend.
func eachBackend(t *testing.T, test func(t *testing.T, db backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db, err := b.open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			test(t, db)
		})
	}
}

// TestClaimEvictsExpiredSibling forces, on each backend, a state the queue
// reaches only in PostgreSQL, when a job's ID was assigned before, but
// committed after, a newer job's: a newer job of a Key running on an
// expired lease while an older one is queued. Claiming the older job takes
// the newer one's lease away, so its old owner cannot extend it while the
// older job runs.
func TestClaimEvictsExpiredSibling(t *testing.T) {
	eachBackend(t, testClaimEvictsExpiredSibling)
}

func testClaimEvictsExpiredSibling(t *testing.T, db backend) {
	ctx := t.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b"} {
		if _, err := db.EnqueueDelivery(ctx, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := db.Job(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Writer(db.shared()).ExecContext(ctx, `UPDATE jobs SET state = 'running', owner = 'w1', lease_until = $1, attempts = 1 WHERE id = $2`,
		db.shared().TimeArg(t0.Add(time.Minute)), b.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := db.Claim(ctx, "w2", t0.Add(30*time.Second), t0.Add(time.Hour)); err != nil || j != nil {
		t.Fatalf("Claim during b's live lease = %v, %v; want nil, nil", j, err)
	}
	j, err := db.Claim(ctx, "w2", t0.Add(2*time.Minute), t0.Add(time.Hour))
	if err != nil || j == nil || j.DeliveryID != "a" {
		t.Fatalf("Claim after b's lease expired = %v, %v; want a", j, err)
	}
	if err := db.Extend(ctx, b.ID, "w1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend of the evicted job error = %v; want ErrNotFound", err)
	}
	if got, err := db.Job(ctx, "b"); err != nil || got.State != store.JobQueued || got.Owner != "" {
		t.Errorf("evicted job = %+v, %v; want queued without owner", got, err)
	}
}

// TestPruneJobsBatches checks, on each backend, that pruning a backlog
// larger than one batch deletes all of it, over several statements, and
// nothing pending.
func TestPruneJobsBatches(t *testing.T) {
	eachBackend(t, testPruneJobsBatches)
}

func testPruneJobsBatches(t *testing.T, b backend) {
	ctx := t.Context()
	db := b.shared()
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
