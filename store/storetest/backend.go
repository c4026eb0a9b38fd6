package storetest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
)

// Backend describes one implementation of store.Store to the suite, so
// that each backend's tests run every part of it with one line apiece:
//
//	func TestStore(t *testing.T) { storetest.Run(t, backend.Fresh) }
//	func TestReopen(t *testing.T) { backend.RunReopen(t) }
type Backend struct {
	// New creates a new, empty database for tb and returns its address
	// (a file path or a DSN), which Open and Exec take.
	New func(tb testing.TB) string
	// Open opens a store on the database at addr, logging to logger.
	Open func(ctx context.Context, addr string, logger *slog.Logger) (store.Store, error)
	// Exec runs queries, in order, straight on the database at addr while
	// no store has it open; it fails t on the first error.
	Exec func(t *testing.T, addr string, queries ...string)
}

// OpenAt opens a store on the database at addr that logs to tb's output
// and is closed when tb ends.
func (b Backend) OpenAt(tb testing.TB, addr string) store.Store {
	return b.openLogging(tb, addr, logtest.New(tb))
}

func (b Backend) openLogging(tb testing.TB, addr string, logger *slog.Logger) store.Store {
	tb.Helper()
	s, err := b.Open(tb.Context(), addr, logger)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Fresh opens a store on a new, empty database: the open function of Run.
func (b Backend) Fresh(t *testing.T) store.Store {
	return b.OpenAt(t, b.New(t))
}

// Handles opens n stores on one new database, each with its own
// connection pools, as n processes would.
func (b Backend) Handles(t *testing.T, n int) []store.Store {
	addr := b.New(t)
	var stores []store.Store
	for range n {
		stores = append(stores, b.OpenAt(t, addr))
	}
	return stores
}

// RunReopen runs the suite's RunReopen on a new database.
func (b Backend) RunReopen(t *testing.T) {
	b.runReopening(t, RunReopen)
}

// runReopening runs run, one of the suite's migration tests (or
// RunReopen), on a new database. Its second function closes the store,
// runs queries on the database (to undo the migration under test; none to
// merely reopen) and opens the database again, so Open re-applies what
// the queries undid.
func (b Backend) runReopening(t *testing.T, run func(*testing.T, func(*testing.T) store.Store, func(*testing.T, store.Store) store.Store), queries ...string) {
	var addr string
	run(t,
		func(t *testing.T) store.Store {
			addr = b.New(t)
			return b.OpenAt(t, addr)
		},
		func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if len(queries) > 0 {
				b.Exec(t, addr, queries...)
			}
			return b.OpenAt(t, addr)
		})
}

// RunMigrations runs each of the suite's migration tests, as a subtest
// named after it, on a new database: its downgrade undoes the migration
// under test with statements both backends take, and reopening the
// database applies the migration again to the rows saved before.
func (b Backend) RunMigrations(t *testing.T) {
	for _, m := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) store.Store, func(*testing.T, store.Store) store.Store)
		undo []string
	}{
		{"PlanData", RunPlanDataMigration, []string{
			`ALTER TABLE plans DROP COLUMN plan_data`,
			`DELETE FROM schema_migrations WHERE version = 2`}},
		{"RunAfter", RunRunAfterMigration, []string{
			`ALTER TABLE jobs DROP COLUMN run_after`,
			`DELETE FROM schema_migrations WHERE version = 3`}},
		{"JobFinishedAt", RunJobFinishedAtMigration, []string{
			`DROP INDEX jobs_finished`,
			`ALTER TABLE jobs DROP COLUMN finished_at`,
			`DELETE FROM schema_migrations WHERE version = 4`}},
	} {
		t.Run(m.name, func(t *testing.T) { b.runReopening(t, m.run, m.undo...) })
	}
}

// Bench runs the suite's Bench on new databases, logging nowhere.
func (b Backend) Bench(bb *testing.B) {
	Bench(bb, func(bb *testing.B) store.Store {
		return b.openLogging(bb, b.New(bb), slog.New(slog.DiscardHandler))
	})
}
