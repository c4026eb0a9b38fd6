package server

import (
	"net/http"
	"testing"

	"github.com/planbot/planbot/githubfake"
)

// TestRedeliverLostWebhook sends a pull_request while planbot is down:
// GitHub records the failed delivery, and planbot asks for it again when
// it starts, so the pull request gets its plan without anyone redelivering
// by hand.
func TestRedeliverLostWebhook(t *testing.T) {
	gh := newFake(t)
	sha, pr := renameDev(gh, "dev-change", "dev-2")

	addr := githubfake.FreeAddr(t)
	_, guid, err := gh.Deliver(t.Context(), "http://"+addr+"/webhook", testSecret, "pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number))
	if err == nil {
		t.Fatalf("a delivery to %s succeeded while planbot was down", addr)
	}

	startServer(t, gh, t.TempDir(), "--addr="+addr, "--redeliver-interval=1s")
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, "envs/dev", "1 to add", sha[:7])

	var attempts []int
	var redelivered bool
	for _, d := range gh.Deliveries() {
		if d.ID != guid {
			t.Errorf("the test delivered only %s, but the fake sent %s", guid, d.ID)
		}
		attempts = append(attempts, d.StatusCode)
		redelivered = redelivered || (d.Redelivery && d.StatusCode == http.StatusAccepted)
	}
	if !redelivered || attempts[0] != 0 {
		t.Errorf("attempts of %s answered %v, want a failed one and then a redelivery answered 202", guid, attempts)
	}
}
