package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// RunReopen checks that a store's state survives closing it and opening the
// same database again, and that reopening (which applies migrations again)
// is harmless. open returns a new, empty store; reopen closes s and returns
// a new store on the same database.
func RunReopen(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	ctx := t.Context()
	s := open(t)

	mustEnqueue(t, s, store.Job{DeliveryID: "d1", Event: "e", Payload: []byte(`{"a":1}`), Key: "o/r#1", CreatedAt: t0})
	mustEnqueue(t, s, store.Job{DeliveryID: "d2", Event: "e", Payload: []byte(`{"a":2}`), Key: "o/r#1", CreatedAt: t0})
	claimed := mustClaim(t, s, "w1", t0, t0.Add(time.Minute))
	lock := store.Lock{Repo: "o/r", Dir: "infra", Workspace: "default", PR: 1, HeadSHA: "h1", User: "alice", CreatedAt: t0}
	if _, ok, err := s.AcquireLock(ctx, lock); err != nil || !ok {
		t.Fatalf("AcquireLock = %v, %v", ok, err)
	}
	plan := store.Plan{Repo: "o/r", PR: 1, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
		Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "f", PlanSHA256: "s",
		PlanData: []byte("plan\x00bytes"), Result: []byte(`{}`), CreatedAt: t0}
	plan = mustSavePlan(t, s, plan)
	e := entry("o/r", 1, audit.ActionPlan, "d1")
	e.Time = t0
	e.Approvers = []audit.Approver{{Login: "bob", Rule: "*"}}
	first := mustAppend(t, s, e)

	s = reopen(t, s)

	// The lease, the lock, the plan and the chain are all still there.
	if c := mustClaim(t, s, "w2", t0.Add(time.Second), t0.Add(time.Minute)); c != nil {
		t.Errorf("Claim after reopen during a live lease = %s; want nil", c.DeliveryID)
	}
	if err := s.Finish(ctx, claimed.ID, "w1", "", 3, time.Time{}); err != nil {
		t.Errorf("Finish after reopen: %v", err)
	}
	if c := mustClaim(t, s, "w2", t0.Add(time.Second), t0.Add(time.Minute)); claimedID(c) != "d2" {
		t.Errorf("Claim after reopen = %v; want d2", claimedID(c))
	}
	holder, ok, err := s.AcquireLock(ctx, store.Lock{Repo: "o/r", Dir: "infra", Workspace: "default", PR: 2})
	if err != nil || ok {
		t.Errorf("AcquireLock(other PR) after reopen = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(holder, lock); diff != "" {
		t.Errorf("lock holder after reopen mismatch (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(mustLatestPlan(t, s, "o/r", 1, "app"), &plan); diff != "" {
		t.Errorf("plan after reopen mismatch (-got +want):\n%s", diff)
	}
	second := mustAppend(t, s, entry("o/r", 1, audit.ActionApply, "d2"))
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("entry after reopen: seq %d prev %q; want 2, %q", second.Seq, second.PrevHash, first.Hash)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	if diff := cmp.Diff(all, []audit.Entry{first, second}); diff != "" {
		t.Errorf("Audit after reopen mismatch (-got +want):\n%s", diff)
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify after reopen failed at seq %d", bad)
	}
}
