package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// Bench measures the store's hot operations, the same on every backend:
// a job's whole life (enqueue, claim, finish), saving a plan and reading it
// back as /apply does, and appending to the audit chain. open must return a
// new, empty store and close it when the benchmark ends.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	// each runs op in a benchmark called name, on a new store, with i
	// counting the calls from 1.
	each := func(name string, op func(b *testing.B, s store.Store, i int)) {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			i := 0
			for b.Loop() {
				i++
				op(b, s, i)
			}
		})
	}
	payload := make([]byte, 8<<10)
	each("Job", func(b *testing.B, s store.Store, i int) {
		ctx := b.Context()
		if _, err := s.EnqueueDelivery(ctx, store.Job{
			DeliveryID: fmt.Sprintf("delivery-%d", i), Event: "pull_request", Payload: payload, Key: "o/r#1",
		}); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		j, err := s.Claim(ctx, "w", now, now.Add(time.Minute))
		if err != nil || j == nil {
			b.Fatalf("Claim = %v, %v", j, err)
		}
		if err := s.Finish(ctx, j.ID, "w", "", 3, time.Time{}); err != nil {
			b.Fatal(err)
		}
	})
	data := make([]byte, 64<<10)
	each("Plan", func(b *testing.B, s store.Store, i int) {
		p := store.Plan{Repo: "o/r", PR: 1, HeadSHA: fmt.Sprintf("sha%d", i%10), Project: "app",
			Dir: "app", Workspace: "default", Kind: "terraform", Status: "planned",
			PlanFile: "plan.tfplan", PlanSHA256: "abc", PlanData: data, Result: []byte(`{}`)}
		if _, err := s.SavePlan(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		if _, err := s.LatestPlan(b.Context(), "o/r", 1, "app"); err != nil {
			b.Fatal(err)
		}
	})
	each("Audit", func(b *testing.B, s store.Store, i int) {
		e := audit.Entry{Repo: "o/r", PR: 1, Action: audit.ActionPlan, DeliveryID: fmt.Sprintf("d%d", i),
			Approvers: []audit.Approver{{Login: "alice", Rule: "*"}}}
		if _, _, err := s.AppendAudit(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	})
}
