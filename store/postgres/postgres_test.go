package postgres_test

import (
	"log/slog"
	"testing"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
	"github.com/planbot/planbot/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testLogger sends the store's logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
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
