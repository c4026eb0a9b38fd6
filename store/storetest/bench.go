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
	b.Run("Job", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		payload := make([]byte, 8<<10)
		i := 0
		for b.Loop() {
			i++
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
		}
	})
	b.Run("Plan", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		data := make([]byte, 64<<10)
		i := 0
		for b.Loop() {
			i++
			p := store.Plan{Repo: "o/r", PR: 1, HeadSHA: fmt.Sprintf("sha%d", i%10), Project: "app",
				Dir: "app", Workspace: "default", Kind: "terraform", Status: "planned",
				PlanFile: "plan.tfplan", PlanSHA256: "abc", PlanData: data, Result: []byte(`{}`)}
			if _, err := s.SavePlan(ctx, p); err != nil {
				b.Fatal(err)
			}
			if _, err := s.LatestPlan(ctx, "o/r", 1, "app"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Audit", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		i := 0
		for b.Loop() {
			i++
			e := audit.Entry{Repo: "o/r", PR: 1, Action: audit.ActionPlan, DeliveryID: fmt.Sprintf("d%d", i),
				Approvers: []audit.Approver{{Login: "alice", Rule: "*"}}}
			if _, _, err := s.AppendAudit(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
