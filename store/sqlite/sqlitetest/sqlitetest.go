// Package sqlitetest gives tests a planbot store on a fresh SQLite file.
package sqlitetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite"
)

// New opens a store on a new SQLite file in a temporary directory of t,
// logging nowhere; it is closed when the test ends.
func New(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
