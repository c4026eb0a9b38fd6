package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

// finishJob claims the next job, which must be id, and finishes it with
// errMsg as its only attempt, so it ends done or failed.
func finishJob(t *testing.T, st store.Store, id, errMsg string) {
	t.Helper()
	ctx := t.Context()
	j, err := st.Claim(ctx, "w1", time.Now(), time.Now().Add(time.Minute))
	if err != nil || j == nil || j.DeliveryID != id {
		t.Fatalf("Claim = %v, %v; want %s", j, err, id)
	}
	if err := st.Finish(ctx, j.ID, "w1", errMsg, 1, time.Time{}); err != nil {
		t.Fatalf("Finish(%s): %v", id, err)
	}
}

func jobExists(t *testing.T, st store.Store, id string) bool {
	t.Helper()
	_, err := st.Job(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Job(%s): %v", id, err)
	}
	return err == nil
}

func TestJanitorOnce(t *testing.T) {
	st := sqlitetest.New(t)
	enqueue(t, st, "done", "o/r#1")
	enqueue(t, st, "failed", "o/r#2")
	enqueue(t, st, "queued", "o/r#3")
	finishJob(t, st, "done", "")
	finishJob(t, st, "failed", "boom")

	tests := []struct {
		name string
		// age is how long after now the Janitor's clock reads.
		age       time.Duration
		wantCount int
		wantLeft  []string
	}{
		{"within retention", 7*24*time.Hour - time.Minute, 0, []string{"done", "failed", "queued"}},
		{"past retention", 7*24*time.Hour + time.Minute, 2, []string{"queued"}},
		{"again", 30 * 24 * time.Hour, 0, []string{"queued"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := time.Now().Add(tt.age)
			var logs logtest.Buffer
			j := &Janitor{Jobs: st, Retention: 7 * 24 * time.Hour, Now: func() time.Time { return at },
				Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))}
			n, err := j.Once(t.Context())
			if err != nil || n != tt.wantCount {
				t.Errorf("Once = %d, %v; want %d, nil", n, err, tt.wantCount)
			}
			var left []string
			for _, id := range []string{"done", "failed", "queued"} {
				if jobExists(t, st, id) {
					left = append(left, id)
				}
			}
			if strings.Join(left, " ") != strings.Join(tt.wantLeft, " ") {
				t.Errorf("jobs left = %v; want %v", left, tt.wantLeft)
			}
			if want := fmt.Sprintf(`msg="jobs pruned" count=%d`, tt.wantCount); !strings.Contains(logs.String(), want) {
				t.Errorf("log = %q; want jobs pruned with %s", logs.String(), want)
			}
		})
	}
}

func TestJanitorRejectsShortRetention(t *testing.T) {
	st := sqlitetest.New(t)
	enqueue(t, st, "done", "o/r#1")
	finishJob(t, st, "done", "")
	j := &Janitor{Jobs: st, Retention: 71 * time.Hour, Now: func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }}
	if err := j.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "redelivery window") {
		t.Errorf("Run with 71h retention = %v; want an error naming the redelivery window", err)
	}
	if !jobExists(t, st, "done") {
		t.Errorf("Run with 71h retention pruned a job")
	}
}

// TestJanitorRun checks that Run prunes at start and again each Interval,
// survives a failing store, and returns nil when its context ends.
func TestJanitorRun(t *testing.T) {
	st := sqlitetest.New(t)
	enqueue(t, st, "first", "o/r#1")
	enqueue(t, st, "second", "o/r#2")
	finishJob(t, st, "first", "")

	var logs logtest.Buffer
	j := &Janitor{Jobs: st, Retention: MinJobRetention, Interval: time.Millisecond,
		Now:    func() time.Time { return time.Now().Add(MinJobRetention + time.Hour) },
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()

	waitGone := func(id string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for jobExists(t, st, id) {
			if time.Now().After(deadline) {
				t.Fatalf("job %s was never pruned; log:\n%s", id, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitGone("first")
	// A job that ends after the first prune goes at a later one.
	finishJob(t, st, "second", "boom")
	waitGone("second")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v; want nil", err)
	}
	if !strings.Contains(logs.String(), `msg="jobs pruned" count=1`) {
		t.Errorf("log = %q; want jobs pruned count=1", logs.String())
	}
}

// TestJanitorRunStoreError checks that a failing store is logged and does
// not end Run.
func TestJanitorRunStoreError(t *testing.T) {
	st := sqlitetest.New(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	j := &Janitor{Jobs: st, Retention: MinJobRetention, Interval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(logs.String(), `msg="pruning finished jobs"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not keep trying after a store error; log:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v; want nil", err)
	}
}
