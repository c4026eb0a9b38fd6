package runner

import (
	"context"
	"sync"
)

// Slots bounds how many projects plan at once, across every pull request
// and the background drift passes, and makes pull request plans go first:
// a background plan takes a slot only when one is free and no pull request
// plan waits for one, so a long background pass never starves the pull
// requests. Its methods are safe for concurrent use.
type Slots struct {
	// mu guards the fields below.
	mu sync.Mutex
	// free is how many slots are free and waiting how many foreground
	// plans wait for one.
	free, waiting int
	// changed is closed, and replaced, whenever free or waiting changes.
	changed chan struct{}
}

// NewSlots returns n slots (at least 1).
func NewSlots(n int) *Slots {
	return &Slots{free: max(n, 1), changed: make(chan struct{})}
}

// broadcast wakes every waiter. The caller holds mu.
func (s *Slots) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// release returns a slot.
func (s *Slots) release() {
	s.mu.Lock()
	s.free++
	s.broadcast()
	s.mu.Unlock()
}

// Acquire takes a slot for a pull request plan, waiting for one until ctx
// ends. Call the returned function to give it back.
func (s *Slots) Acquire(ctx context.Context) (release func(), err error) {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return sync.OnceFunc(s.release), nil
	}
	s.waiting++
	s.broadcast()
	for {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			s.waiting--
			s.broadcast()
			s.mu.Unlock()
			return nil, ctx.Err()
		}
		s.mu.Lock()
		if s.free > 0 {
			s.free--
			s.waiting--
			s.broadcast()
			s.mu.Unlock()
			return sync.OnceFunc(s.release), nil
		}
	}
}

// TryAcquire takes a slot for a pull request plan's second terraform
// process (terraform.FmtBeside) only when one is free and no plan waits
// for one, without waiting: ok is false otherwise. Call release to give
// it back.
func (s *Slots) TryAcquire() (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free == 0 || s.waiting > 0 {
		return nil, false
	}
	s.free--
	return sync.OnceFunc(s.release), true
}

// AcquireIdle takes a slot for background work, such as a drift plan,
// once one is free and no pull request plan waits, waiting until ctx ends.
// Call the returned function to give it back.
func (s *Slots) AcquireIdle(ctx context.Context) (release func(), err error) {
	s.mu.Lock()
	for {
		if s.free > 0 && s.waiting == 0 {
			s.free--
			s.mu.Unlock()
			return sync.OnceFunc(s.release), nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.mu.Lock()
	}
}
