package runner

import (
	"context"
	"testing"
	"time"
)

// TestSlotsForegroundFirst checks that a background acquirer never takes a
// slot while a pull request plan waits for one, even when it waited
// first.
func TestSlotsForegroundFirst(t *testing.T) {
	s := NewSlots(1)
	ctx := t.Context()
	held, err := s.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	go hold(t, ctx, s.AcquireIdle, "background", order)
	time.Sleep(20 * time.Millisecond) // the background acquirer waits first
	go hold(t, ctx, s.Acquire, "pr", order)
	time.Sleep(20 * time.Millisecond)
	held()
	if first, second := <-order, <-order; first != "pr" || second != "background" {
		t.Errorf("order = %s, %s; want pr, background", first, second)
	}
}

// hold takes a slot with acquire, sends name on order once it has it,
// and gives it back a moment later.
func hold(t *testing.T, ctx context.Context, acquire func(context.Context) (func(), error), name string, order chan<- string) {
	r, err := acquire(ctx)
	if err != nil {
		t.Error(err)
		return
	}
	order <- name
	time.Sleep(10 * time.Millisecond)
	r()
}

// TestSlotsCancel checks that cancelled waiters give up and no longer
// hold back background work.
func TestSlotsCancel(t *testing.T) {
	s := NewSlots(1)
	held, _ := s.Acquire(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx); err == nil {
		t.Fatal("Acquire on full slots returned before ctx ended")
	}
	held()
	held() // a second release is a no-op
	r, err := s.AcquireIdle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r()
	if s.free != 1 || s.waiting != 0 {
		t.Errorf("free, waiting = %d, %d; want 1, 0", s.free, s.waiting)
	}
}
