package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
)

// testPasses checks the lease of scheduled passes: one claim per slot, no
// overlap while a pass runs, takeover of a pass whose lease expired, and
// a new slot once the pass finished.
func testPasses(t *testing.T, s store.Store) {
	ctx := t.Context()
	slot1, slot2 := t0, t0.Add(time.Hour)
	claim := func(slot time.Time, owner string, now time.Time) bool {
		t.Helper()
		ok, err := s.ClaimPass(ctx, "drift", slot, owner, now, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("ClaimPass(%s, %s): %v", slot, owner, err)
		}
		return ok
	}
	if _, err := s.LastPass(ctx, "drift"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LastPass before any = %v, want ErrNotFound", err)
	}
	if !claim(slot1, "a", t0) {
		t.Fatal("first claim refused")
	}
	if claim(slot1, "b", t0.Add(time.Second)) {
		t.Error("a second replica claimed the running pass")
	}
	if claim(slot2, "b", t0.Add(2*time.Second)) {
		t.Error("a new slot was claimed while the previous pass runs: passes overlap")
	}
	if err := s.ExtendPass(ctx, "drift", "b", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ExtendPass by a non-owner = %v, want ErrNotFound", err)
	}
	if err := s.ExtendPass(ctx, "drift", "a", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("ExtendPass: %v", err)
	}
	// a dies: once its lease ends, b takes the same pass over.
	if claim(slot1, "b", t0.Add(90*time.Second)) {
		t.Error("claimed before the extended lease ended")
	}
	if !claim(slot1, "b", t0.Add(3*time.Minute)) {
		t.Fatal("takeover of an expired pass refused")
	}
	if err := s.FinishPass(ctx, "drift", "a", t0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishPass by the replaced owner = %v, want ErrNotFound", err)
	}
	if err := s.FinishPass(ctx, "drift", "b", t0.Add(4*time.Minute)); err != nil {
		t.Fatalf("FinishPass: %v", err)
	}
	if claim(slot1, "c", t0.Add(time.Hour)) {
		t.Error("a finished pass was claimed again")
	}
	p, err := s.LastPass(ctx, "drift")
	if err != nil || !p.Slot.Equal(slot1) || p.Owner != "b" || !p.FinishedAt.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("LastPass = %+v, %v; want slot %s finished by b", p, err, slot1)
	}
	// The next slot, claimed by several replicas at once: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for _, owner := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimPass(ctx, "drift", slot2, owner, slot2, slot2.Add(time.Minute))
			if err != nil {
				t.Errorf("ClaimPass: %v", err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d replicas claimed the same slot, want 1", won)
	}
	// Another pass name is independent.
	if ok, err := s.ClaimPass(ctx, "other", slot1, "a", t0, t0.Add(time.Minute)); err != nil || !ok {
		t.Errorf("claim of another pass name = %v, %v; want true", ok, err)
	}
}
