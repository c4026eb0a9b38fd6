package postgres

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
)

// TestClaimEvictsExpiredSibling forces a state the queue reaches only when
// a job's ID was assigned before, but committed after, a newer job's: a
// newer job of a Key running on an expired lease while an older one is
// queued. Claiming the older job takes the newer one's
// lease away, so its old owner cannot extend it while the older job runs.
func TestClaimEvictsExpiredSibling(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, pgtest.Start(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b"} {
		if _, err := db.EnqueueDelivery(ctx, store.Job{DeliveryID: id, Event: "e", Payload: []byte(`{}`), Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := db.Job(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `UPDATE jobs SET state = 'running', owner = 'w1', lease_until = $1, attempts = 1 WHERE id = $2`,
		db.TimeArg(t0.Add(time.Minute)), b.ID); err != nil {
		t.Fatal(err)
	}
	if j, err := db.Claim(ctx, "w2", t0.Add(30*time.Second), t0.Add(time.Hour)); err != nil || j != nil {
		t.Fatalf("Claim during b's live lease = %v, %v; want nil, nil", j, err)
	}
	j, err := db.Claim(ctx, "w2", t0.Add(2*time.Minute), t0.Add(time.Hour))
	if err != nil || j == nil || j.DeliveryID != "a" {
		t.Fatalf("Claim after b's lease expired = %v, %v; want a", j, err)
	}
	if err := db.Extend(ctx, b.ID, "w1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Extend of the evicted job error = %v; want ErrNotFound", err)
	}
	if got, err := db.Job(ctx, "b"); err != nil || got.State != store.JobQueued || got.Owner != "" {
		t.Errorf("evicted job = %+v, %v; want queued without owner", got, err)
	}
}
