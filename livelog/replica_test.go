package livelog

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
	"github.com/planbot/planbot/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestFollowAcrossReplicas checks that a run written by one replica is
// followed, live, by another: two stores on one PostgreSQL database.
func TestFollowAcrossReplicas(t *testing.T) {
	dsn := pgtest.Start(t)
	open := func() store.Store {
		st, err := postgres.Open(t.Context(), dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	running, serving := open(), open()
	l := &Log{Store: running, Secrets: []string{secret}, Logger: slog.New(slog.DiscardHandler)}
	w := l.Writer(t.Context(), "o/r", 9, "run9", "app")
	fmt.Fprintf(w, "first %s\n", secret)
	got := make(chan store.LogChunk, 10)
	done := make(chan error, 1)
	go func() {
		done <- Follow(t.Context(), serving, "o/r", 9, "run9", 0, 10*time.Millisecond, func(c store.LogChunk) error {
			got <- c
			return nil
		})
	}()
	if c := <-got; c.Text != "first ***\n" {
		t.Errorf("first chunk %q", c.Text)
	}
	fmt.Fprint(w, "second\n")
	if c := <-got; c.Text != "second\n" {
		t.Errorf("second chunk %q", c.Text)
	}
	w.Close()
	l.End(t.Context(), "o/r", 9, "run9", "planned")
	if c := <-got; !c.End {
		t.Errorf("last chunk %+v, want the end", c)
	}
	if err := <-done; err != nil {
		t.Errorf("Follow = %v", err)
	}
}
