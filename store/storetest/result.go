package storetest

import (
	"errors"
	"testing"

	"github.com/planbot/planbot/store"
)

// testJobResult records a job's result and reads it back, through Job and
// through Claim; a job without one has none.
func testJobResult(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, store.Job{DeliveryID: "r1", Event: "planbot_release", Payload: []byte(`{}`), Key: "acme/k8s#0"})
	mustEnqueue(t, s, store.Job{DeliveryID: "r2", Event: "push", Payload: []byte(`{}`), Key: "acme/k8s#1"})
	if j := mustJob(t, s, "r1"); j.Result != nil {
		t.Errorf("Result of a new job = %q, want nil", j.Result)
	}
	if err := s.SetJobResult(ctx, "r1", []byte(`{"pr":7}`)); err != nil {
		t.Fatal(err)
	}
	if got := string(mustJob(t, s, "r1").Result); got != `{"pr":7}` {
		t.Errorf("Result = %q, want {\"pr\":7}", got)
	}
	if err := s.SetJobResult(ctx, "r1", []byte(`{"pr":8}`)); err != nil {
		t.Fatal(err)
	}
	if got := string(mustJob(t, s, "r1").Result); got != `{"pr":8}` {
		t.Errorf("Result after a second SetJobResult = %q", got)
	}
	if j := mustJob(t, s, "r2"); j.Result != nil {
		t.Errorf("another job got a result: %q", j.Result)
	}
	if err := s.SetJobResult(ctx, "nope", []byte(`{}`)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetJobResult(nope) = %v, want ErrNotFound", err)
	}
}
