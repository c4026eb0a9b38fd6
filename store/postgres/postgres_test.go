package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
	"github.com/planbot/planbot/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend gives the conformance suite new databases of a throwaway
// cluster, addressed by DSN.
var backend = storetest.Backend{
	New: func(tb testing.TB) string { return pgtest.Start(tb) },
	Open: func(ctx context.Context, dsn string, logger *slog.Logger) (store.Store, error) {
		return postgres.Open(ctx, dsn, logger)
	},
	Exec: func(t *testing.T, dsn string, queries ...string) {
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
	},
}

func TestStore(t *testing.T) { storetest.Run(t, backend.Fresh) }

func TestReopen(t *testing.T) { backend.RunReopen(t) }

func TestClaimAcrossPools(t *testing.T) {
	storetest.ClaimConcurrently(t, backend.Handles(t, 3)...)
}

func TestAppendAcrossPools(t *testing.T) {
	storetest.AppendConcurrently(t, backend.Handles(t, 3)...)
}

// TestConcurrentOpen opens one new database from several pools at once:
// every Open succeeds and each migration is recorded once.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.Start(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), dsn, logtest.New(t))
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

// TestMigrations runs the suite's migration tests: PlanData, RunAfter
// and JobFinishedAt.
func TestMigrations(t *testing.T) { backend.RunMigrations(t) }

func BenchmarkStore(b *testing.B) { backend.Bench(b) }

// TestOpenPoolParams opens a database whose DSN sets the pool's size, as
// docs/operations.md allows: the pool_* parameters configure the pool and
// are not sent to the server.
func TestOpenPoolParams(t *testing.T) {
	dsn := pgtest.Start(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db := backend.OpenAt(t, dsn+sep+"pool_max_conns=2&pool_max_conn_lifetime=10m")
	storetest.ClaimConcurrently(t, db)
}
