package runner

import (
	"context"
	"testing"
	"time"
)

// TestSlotsTryAcquire: TryAcquire takes a free slot without waiting, takes
// none when all are taken or when a plan waits for one (it never jumps the
// queue), and its release gives the slot back once.
func TestSlotsTryAcquire(t *testing.T) {
	s := NewSlots(2)
	first, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	second, ok := s.TryAcquire()
	if !ok {
		t.Fatal("TryAcquire with a slot free: none")
	}
	if _, ok := s.TryAcquire(); ok {
		t.Fatal("TryAcquire with every slot taken: got one")
	}

	// A plan waits for a slot; one comes free, and goes to that plan, not
	// to TryAcquire.
	got := make(chan func(), 1)
	go func() {
		r, err := s.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	for !waiting(s) {
		time.Sleep(time.Millisecond)
	}
	if _, ok := s.TryAcquire(); ok {
		t.Fatal("TryAcquire while a plan waits: got a slot")
	}
	second()
	second() // a second call gives nothing back
	third := <-got
	if _, ok := s.TryAcquire(); ok {
		t.Fatal("TryAcquire after the waiting plan took the slot: got one")
	}
	first()
	third()
	for range 2 {
		if _, ok := s.TryAcquire(); !ok {
			t.Fatal("TryAcquire with both slots free: none")
		}
	}
}

func waiting(s *Slots) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting > 0
}
