package sqlite_test

import (
	"database/sql"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite"
	"github.com/planbot/planbot/store/storetest"
)

// testLogger sends the store's logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return logtest.New(t)
}

func openAt(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "planbot.db"))
	})
}

func TestReopen(t *testing.T) {
	storetest.RunReopen(t,
		func(t *testing.T) store.Store {
			return openAt(t, filepath.Join(t.TempDir(), "planbot.db"))
		},
		func(t *testing.T, s store.Store) store.Store {
			path := s.(*sqlite.DB).Path()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openAt(t, path)
		})
}

func TestOpenCreatesParentDirs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "planbot.db")
	db := openAt(t, path)
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q; want %q", got, path)
	}
	if _, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command("sqlite3", path, "PRAGMA journal_mode").CombinedOutput()
		if err != nil || string(out) != "wal\n" {
			t.Errorf("journal_mode = %q, %v; want wal", out, err)
		}
	}
}

// TestConcurrentOpen opens one new database from many goroutines at once,
// each with its own connection pools as separate processes would: the
// migrations are applied exactly once and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "planbot.db")
	var wg sync.WaitGroup
	dbs := make([]*sqlite.DB, 8)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() {
			dbs[i], errs[i] = sqlite.Open(t.Context(), path, testLogger(t))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	// Every handle sees the others' writes.
	for i, db := range dbs {
		if ok, err := db.EnqueueDelivery(t.Context(), store.Job{DeliveryID: fmt.Sprint(i), Event: "e", Payload: []byte(`{}`)}); err != nil || !ok {
			t.Fatalf("EnqueueDelivery on handle %d = %v, %v", i, ok, err)
		}
	}
	for i := range dbs {
		if _, err := dbs[0].Job(t.Context(), fmt.Sprint(i)); err != nil {
			t.Errorf("Job(%d) on handle 0: %v", i, err)
		}
	}
}

func BenchmarkEnqueueDelivery(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	payload := make([]byte, 8<<10)
	i := 0
	for b.Loop() {
		i++
		if _, err := db.EnqueueDelivery(b.Context(), store.Job{
			DeliveryID: fmt.Sprintf("delivery-%d", i), Event: "pull_request", Payload: payload, Key: "o/r#1",
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// openHandles opens n stores on one new database, each with its own
// connection pools, as n processes would.
func openHandles(t *testing.T, n int) []store.Store {
	path := filepath.Join(t.TempDir(), "planbot.db")
	var stores []store.Store
	for range n {
		stores = append(stores, openAt(t, path))
	}
	return stores
}

func TestClaimAcrossHandles(t *testing.T) {
	storetest.ClaimConcurrently(t, openHandles(t, 3)...)
}

func TestAppendAcrossHandles(t *testing.T) {
	storetest.AppendConcurrently(t, openHandles(t, 3)...)
}

func TestPlanDataMigration(t *testing.T) {
	storetest.RunPlanDataMigration(t, openFresh, downgrade(
		`ALTER TABLE plans DROP COLUMN plan_data`,
		`DELETE FROM schema_migrations WHERE version = 2`))
}

func TestRunAfterMigration(t *testing.T) {
	storetest.RunRunAfterMigration(t, openFresh, downgrade(
		`ALTER TABLE jobs DROP COLUMN run_after`,
		`DELETE FROM schema_migrations WHERE version = 3`))
}

func TestJobFinishedAtMigration(t *testing.T) {
	storetest.RunJobFinishedAtMigration(t, openFresh, downgrade(
		`DROP INDEX jobs_finished`,
		`ALTER TABLE jobs DROP COLUMN finished_at`,
		`DELETE FROM schema_migrations WHERE version = 4`))
}

func openFresh(t *testing.T) store.Store {
	return openAt(t, filepath.Join(t.TempDir(), "planbot.db"))
}

// downgrade returns a reopen function that closes the store, undoes a
// migration with queries run directly on the file, and opens it again, so
// that Open re-applies the migration to existing rows.
func downgrade(queries ...string) func(t *testing.T, s store.Store) store.Store {
	return func(t *testing.T, s store.Store) store.Store {
		path := s.(*sqlite.DB).Path()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range queries {
			if _, err := raw.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		return openAt(t, path)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}
