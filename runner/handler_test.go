package runner

import (
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

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

func TestPayloadPRFreshness(t *testing.T) {
	stored := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	event := func(updated time.Time) *github.PullRequestEvent {
		return &github.PullRequestEvent{
			Number: github.Int(7),
			Repo:   &github.Repository{Name: github.String("infra"), Owner: &github.User{Login: github.String("acme")}},
			PullRequest: &github.PullRequest{
				Number: github.Int(7), State: github.String("open"), UpdatedAt: &github.Timestamp{Time: updated},
				Head: &github.PullRequestBranch{SHA: github.String("h")},
				Base: &github.PullRequestBranch{SHA: github.String("b"), Ref: github.String("main"), Repo: &github.Repository{CloneURL: github.String("https://x/acme/infra.git")}},
			},
		}
	}
	tests := []struct {
		name    string
		updated time.Time
		trusted bool
	}{
		{"delivered as it changed", stored.Add(-3 * time.Second), true},
		{"redelivered an hour later", stored.Add(-time.Hour), false},
		{"no update time", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payloadPR(event(tt.updated), stored) != nil; got != tt.trusted {
				t.Errorf("payload trusted = %v, want %v", got, tt.trusted)
			}
		})
	}
}
