package livelog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

const secret = "s3cr3t-token-value"

// TestWriterFollow checks that a run's output comes back through Follow
// as whole lines, masked, in order, while the run goes on, and that
// Follow returns after the End chunk.
func TestWriterFollow(t *testing.T) {
	st := sqlitetest.New(t)
	l := &Log{Store: st, Secrets: []string{secret}, Logger: slog.New(slog.DiscardHandler)}
	ctx := t.Context()
	w := l.Writer(ctx, "o/r", 1, "run1", "app")
	fmt.Fprintf(w, "Initializing...\ntoken is %s\npart", secret)
	got := make(chan store.LogChunk, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, st, "o/r", 1, "run1", 0, 10*time.Millisecond, func(c store.LogChunk) error {
			got <- c
			return nil
		})
	}()
	first := <-got
	if first.Text != "Initializing...\ntoken is ***\n" || first.Project != "app" {
		t.Errorf("first chunk = %+v, want two whole lines, masked", first)
	}
	if strings.Contains(first.Text, secret) {
		t.Errorf("secret in the live log: %q", first.Text)
	}
	// The run goes on: Follow waits for more.
	select {
	case c := <-got:
		t.Fatalf("chunk %+v before anything more was written", c)
	case err := <-done:
		t.Fatalf("Follow returned %v before the run ended", err)
	default:
	}
	fmt.Fprint(w, "ial line\n")
	if c := <-got; c.Text != "partial line\n" {
		t.Errorf("second chunk = %q, want the line completed", c.Text)
	}
	fmt.Fprint(w, "no newline")
	w.Close()
	if c := <-got; c.Text != "no newline\n" {
		t.Errorf("chunk at Close = %q", c.Text)
	}
	l.End(ctx, "o/r", 1, "run1", "planned")
	if c := <-got; !c.End || c.Text != "planned" {
		t.Errorf("last chunk = %+v, want the end", c)
	}
	if err := <-done; err != nil {
		t.Errorf("Follow = %v, want nil after the end", err)
	}
}

// TestFollowCancel checks that Follow returns when its context ends, as
// when the client goes away, and when send fails.
func TestFollowCancel(t *testing.T) {
	st := sqlitetest.New(t)
	l := &Log{Store: st, Logger: slog.New(slog.DiscardHandler)}
	w := l.Writer(t.Context(), "o/r", 1, "run1", "app")
	fmt.Fprint(w, "one\n")
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	err := Follow(ctx, st, "o/r", 1, "run1", 0, 5*time.Millisecond, func(store.LogChunk) error {
		once.Do(cancel)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Follow after cancel = %v, want context.Canceled", err)
	}
	boom := errors.New("client gone")
	if err := Follow(t.Context(), st, "o/r", 1, "run1", 0, 5*time.Millisecond, func(store.LogChunk) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("Follow with a failing send = %v, want %v", err, boom)
	}
}
