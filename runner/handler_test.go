package runner

import (
	"testing"

	"github.com/planbot/planbot/event"
)

// TestEveryKindHasAFlow checks that the handler runs every kind of job the
// routing table makes, so that a row added to the table is never stored at
// ingress and then dropped by the workers.
func TestEveryKindHasAFlow(t *testing.T) {
	flows := (&Handler{}).flows()
	for _, r := range event.Table() {
		if _, ok := flows[r.Kind]; !ok {
			t.Errorf("no flow for kind %q of the %s %v row", r.Kind, r.Event, r.Actions)
		}
	}
}
