package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

// brokenCounter is a store that cannot count.
type brokenCounter struct{}

func (brokenCounter) CountJobs(context.Context, time.Time) (store.JobCounts, error) {
	return store.JobCounts{}, errors.New("database is down")
}

func TestDepth(t *testing.T) {
	st := sqlitetest.New(t)
	m := NewMetrics(metrics.New())
	enqueue(t, st, "a", "o/r#1")
	enqueue(t, st, "b", "o/r#2")
	enqueue(t, st, "c", "o/r#3")
	now := time.Now()
	if _, err := st.Claim(t.Context(), "w1", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	gauges := func() map[string]float64 {
		return map[string]float64{"depth": m.QueueDepth.Value(), "in flight": m.InFlight.Value()}
	}

	d := &Depth{Jobs: st, Metrics: m, Now: func() time.Time { return now }}
	if err := d.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"depth": 2, "in flight": 1}
	if diff := cmp.Diff(gauges(), want); diff != "" {
		t.Errorf("gauges mismatch (-got +want):\n%s", diff)
	}

	// A count that fails leaves the last values.
	broken := &Depth{Jobs: brokenCounter{}, Metrics: m}
	if err := broken.Once(t.Context()); err == nil {
		t.Error("Once of a broken store returned nil")
	}
	if diff := cmp.Diff(gauges(), want); diff != "" {
		t.Errorf("gauges after a failed count mismatch (-got +want):\n%s", diff)
	}

	// Run counts at once and returns nil when its context ends.
	ctx, cancel := context.WithCancel(t.Context())
	later := &Depth{Jobs: st, Metrics: m, Interval: time.Hour, Now: func() time.Time { return now.Add(2 * time.Minute) }}
	done := make(chan error)
	go func() { done <- later.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); m.QueueDepth.Value() != 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gauges after the lease expired = %v, want depth 3", gauges())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
