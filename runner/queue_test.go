package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite"
)

func newJobs(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func enqueue(t *testing.T, st store.Store, id, key string) {
	t.Helper()
	if _, err := st.EnqueueDelivery(context.Background(), store.Job{DeliveryID: id, Event: "pull_request", Payload: []byte("{}"), Key: key}); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, st store.Store, id, state string) *store.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := st.Job(context.Background(), id)
		if err == nil && j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s never reached %s (last %+v, %v)", id, state, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueRetriesThenGivesUp runs a failing job MaxAttempts times and a
// panicking one is recorded as failed instead of killing the worker.
func TestQueueRetriesThenGivesUp(t *testing.T) {
	st := newJobs(t)
	var runs sync.Map
	q := &Queue{Jobs: st, Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 3,
		Handle: func(ctx context.Context, j store.Job) error {
			n, _ := runs.LoadOrStore(j.DeliveryID, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			switch j.DeliveryID {
			case "fails":
				return errors.New("boom")
			case "panics":
				panic("bad payload")
			}
			return nil
		}}
	enqueue(t, st, "ok", "a#1")
	enqueue(t, st, "fails", "a#2")
	enqueue(t, st, "panics", "a#3")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	waitState(t, st, "ok", store.JobDone)
	failed := waitState(t, st, "fails", store.JobFailed)
	if failed.LastError != "boom" {
		t.Errorf("LastError = %q", failed.LastError)
	}
	p := waitState(t, st, "panics", store.JobFailed)
	if p.LastError == "" {
		t.Error("a panic left no error")
	}
	cancel()
	<-done
	for id, want := range map[string]int32{"ok": 1, "fails": 3, "panics": 3} {
		n, _ := runs.Load(id)
		if got := n.(*atomic.Int32).Load(); got != want {
			t.Errorf("%s ran %d times, want %d", id, got, want)
		}
	}
}

// TestQueueDrain lets an in-flight job finish after Run's context ends,
// and cancels one that outlives the drain timeout, leaving it to run again.
func TestQueueDrain(t *testing.T) {
	for _, tt := range []struct {
		name      string
		jobTakes  time.Duration
		drain     time.Duration
		wantState string
	}{
		{name: "finishes within the drain", jobTakes: 200 * time.Millisecond, drain: 10 * time.Second, wantState: store.JobDone},
		{name: "cancelled after the drain", jobTakes: time.Hour, drain: 100 * time.Millisecond, wantState: store.JobRunning},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newJobs(t)
			started := make(chan struct{})
			q := &Queue{Jobs: st, Workers: 1, Poll: 10 * time.Millisecond, DrainTimeout: tt.drain, Lease: 30 * time.Second,
				Handle: func(ctx context.Context, j store.Job) error {
					close(started)
					select {
					case <-time.After(tt.jobTakes):
						return nil
					case <-ctx.Done():
						return fmt.Errorf("interrupted: %w", ctx.Err())
					}
				}}
			enqueue(t, st, "job", "a#1")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- q.Run(ctx) }()
			<-started
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return")
			}
			j, err := st.Job(context.Background(), "job")
			if err != nil {
				t.Fatal(err)
			}
			if j.State != tt.wantState {
				t.Errorf("job state = %s, want %s", j.State, tt.wantState)
			}
		})
	}
}
