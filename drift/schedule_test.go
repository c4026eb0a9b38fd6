package drift

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/planbot/planbot/store/sqlite"
)

// TestSchedulersNeverOverlap runs two schedulers on one store with a
// schedule faster than a pass: passes run one at a time, and each
// scheduled time at most once.
func TestSchedulersNeverOverlap(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "planbot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sched, err := ParseSchedule("@every 1s")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running, most := 0, 0
	seen := map[string]int{}
	pass := func(ctx context.Context, w Window) error {
		mu.Lock()
		running++
		most = max(most, running)
		seen[w.ID]++
		mu.Unlock()
		time.Sleep(1500 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b"} {
		s := &Scheduler{Schedule: sched, Lease: st, Pass: pass, Owner: owner, LeaseTTL: 3 * time.Second, Poll: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
		wg.Go(func() { s.Run(ctx) })
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d passes ran at once, want 1", most)
	}
	if len(seen) < 2 {
		t.Errorf("%d passes ran, want at least 2", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("pass %s ran %d times, want once", id, n)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		on, ok bool
	}{
		{"off", false, true}, {"", false, true}, {"0 6 * * *", true, true}, {"@every 6h", true, true}, {"every day", false, false},
	} {
		s, err := ParseSchedule(tc.expr)
		if (err == nil) != tc.ok || (s != nil) != tc.on {
			t.Errorf("ParseSchedule(%q) = %v, %v; want on %v, ok %v", tc.expr, s, err, tc.on, tc.ok)
		}
	}
}
