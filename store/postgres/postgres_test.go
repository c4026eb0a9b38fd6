package postgres_test

import (
	"strings"
	"sync"

	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
	"github.com/planbot/planbot/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLogger sends the store's logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return logtest.New(t)
}

func openDSN(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openDSN(t, pgtest.Start(t))
	})
}

func TestReopen(t *testing.T) {
	var dsn string
	storetest.RunReopen(t,
		func(t *testing.T) store.Store {
			dsn = pgtest.Start(t)
			return openDSN(t, dsn)
		},
		func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openDSN(t, dsn)
		})
}

// openHandles opens n stores on one new database, each with its own
// connection pool, as n processes would.
func openHandles(t *testing.T, n int) []store.Store {
	dsn := pgtest.Start(t)
	var stores []store.Store
	for range n {
		stores = append(stores, openDSN(t, dsn))
	}
	return stores
}

func TestClaimAcrossPools(t *testing.T) {
	storetest.ClaimConcurrently(t, openHandles(t, 3)...)
}

func TestAppendAcrossPools(t *testing.T) {
	storetest.AppendConcurrently(t, openHandles(t, 3)...)
}

// TestConcurrentOpen opens one new database from several pools at once:
// every Open succeeds and each migration is recorded once.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.Start(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), dsn, testLogger(t))
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n, distinct int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions; want each version once", n, distinct)
	}
}

func TestPlanDataMigration(t *testing.T) {
	testMigration(t, storetest.RunPlanDataMigration,
		`ALTER TABLE plans DROP COLUMN plan_data`,
		`DELETE FROM schema_migrations WHERE version = 2`)
}

func TestRunAfterMigration(t *testing.T) {
	testMigration(t, storetest.RunRunAfterMigration,
		`ALTER TABLE jobs DROP COLUMN run_after`,
		`DELETE FROM schema_migrations WHERE version = 3`)
}

func TestJobFinishedAtMigration(t *testing.T) {
	testMigration(t, storetest.RunJobFinishedAtMigration,
		`ALTER TABLE jobs DROP COLUMN finished_at`,
		`DELETE FROM schema_migrations WHERE version = 4`)
}

// testMigration runs a migration test of the conformance suite on a fresh
// database; its reopen function closes the store, undoes the migration with
// queries, and opens the database again so Open re-applies it.
func testMigration(t *testing.T, run func(*testing.T, func(*testing.T) store.Store, func(*testing.T, store.Store) store.Store), queries ...string) {
	var dsn string
	run(t,
		func(t *testing.T) store.Store {
			dsn = pgtest.Start(t)
			return openDSN(t, dsn)
		},
		func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			conn, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			for _, q := range queries {
				if _, err := conn.Exec(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			return openDSN(t, dsn)
		})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		db, err := postgres.Open(b.Context(), pgtest.Start(b), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	})
}

// TestOpenPoolParams opens a database whose DSN sets the pool's size, as
// docs/operations.md allows: the pool_* parameters configure the pool and
// are not sent to the server.
func TestOpenPoolParams(t *testing.T) {
	dsn := pgtest.Start(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db := openDSN(t, dsn+sep+"pool_max_conns=2&pool_max_conn_lifetime=10m")
	storetest.ClaimConcurrently(t, db)
}
