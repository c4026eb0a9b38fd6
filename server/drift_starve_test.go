package server

import (
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/drift/drifttest"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// TestDriftYieldsToPullRequests checks that a drift pass never starves pull
// requests: with one plan slot, a PR plan queued while a pass plans its
// first of several projects starts before the pass's remaining ones.
func TestDriftYieldsToPullRequests(t *testing.T) {
	states := statetest.New(t)
	gh := drifttest.Fake(t, states)
	roots := map[string]string{}
	for _, d := range []string{"a", "b", "c"} {
		roots["roots/"+d+"/main.tf"] = "resource \"terraform_data\" \"x\" {\n  input = \"" + d + "\"\n}\n"
	}
	gh.Commit(drifttest.Repo, "main", roots, nil, "three more roots")
	tf, log := loggingTerraform(t, "3")
	// The wrapper writes its log outside the checkout, which the sandbox
	// would refuse.
	e := startServer(t, gh, t.TempDir(), "--drift-schedule=@every 2s", "--terraform-bin="+tf, "--sandbox=off", "--parallelism=1")

	waitFor(t, time.Minute, "the pass's first plan running", func() bool {
		lines := planLog(log)
		return len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "start") && strings.Contains(lines[len(lines)-1], "/pr-0/")
	})
	queuedAt := len(planLog(log))
	gh.Commit(drifttest.Repo, "change", map[string]string{"roots/a/main.tf": "resource \"terraform_data\" \"x\" {\n  input = \"a2\"\n}\n"}, nil, "change a")
	pr := gh.OpenPR(drifttest.Repo, "change", "main", "alice", "change a")
	e.deliver("pull_request", gh.PullRequestEvent("opened", drifttest.Repo, pr.Number), 202)

	waitFor(t, 2*time.Minute, "the PR's plan", func() bool {
		for _, l := range planLog(log) {
			if strings.HasPrefix(l, "start") && strings.Contains(l, "/pr-1/") {
				return true
			}
		}
		return false
	})
	var next string
	for _, l := range planLog(log)[queuedAt:] {
		if strings.HasPrefix(l, "start") {
			next = l
			break
		}
	}
	if strings.Contains(next, "/pr-0/") {
		t.Errorf("after the PR was queued, the next plan was the pass's %q; want the PR's\n%s", next, strings.Join(planLog(log), "\n"))
	}
}
