package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
)

// TestGitHubCalls counts the requests planbot makes to GitHub for a
// re-plan of one project (a push to a planned pull request) and for an
// /apply through merge, with check runs on and off. Check runs cost one
// create per project and plan, and one per applied project; with
// --checks=off the counts are those of the commit statuses alone. The
// figures are those of BenchmarkPlanEndToEnd and BenchmarkApplyEndToEnd
// (docs/performance.md).
func TestGitHubCalls(t *testing.T) {
	for _, tt := range []struct {
		checks                string
		planREST, applyREST   int
		planChecks, applyRuns int
	}{
		{checks: "on", planREST: 5, applyREST: 14, planChecks: 1, applyRuns: 1},
		{checks: "off", planREST: 4, applyREST: 13},
	} {
		t.Run("checks="+tt.checks, func(t *testing.T) {
			gh := newFake(t)
			e := startServer(t, gh, t.TempDir(), "--checks="+tt.checks)
			pr := e.openPlanned("calls", "carol", devChange("dev-calls-1"), "success")

			from := len(gh.Requests())
			sha := gh.Commit(testRepo, "calls", devChange("dev-calls-2"), nil, "again")
			e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted))
			if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
				t.Fatalf("re-plan = %s", got)
			}
			plan := gh.Requests()[from:]
			rest, git := countRequests(plan)
			if rest != tt.planREST || git != 3 {
				t.Errorf("a re-plan made %d REST calls and %d git requests, want %d and 3:\n%s", rest, git, tt.planREST, listRequests(plan))
			}
			if creates, updates := checkRequests(gh, from); creates != tt.planChecks || updates != 0 {
				t.Errorf("a re-plan made %d check run creates and %d updates, want %d and 0", creates, updates, tt.planChecks)
			}

			gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha)
			c := gh.AddComment(testRepo, pr.Number, "bob", "/apply")
			from = len(gh.Requests())
			e.waitJob(e.deliver("issue_comment", gh.IssueCommentEvent(testRepo, pr.Number, c), http.StatusAccepted))
			waitFor(t, 3*time.Minute, "merge", func() bool { return gh.PR(testRepo, pr.Number).Merged })
			apply := gh.Requests()[from:]
			rest, git = countRequests(apply)
			if rest != tt.applyREST {
				t.Errorf("an /apply made %d REST calls (and %d git requests), want %d:\n%s", rest, git, tt.applyREST, listRequests(apply))
			}
			if creates, updates := checkRequests(gh, from); creates != tt.applyRuns || updates != 0 {
				t.Errorf("an /apply made %d check run creates and %d updates, want %d and 0", creates, updates, tt.applyRuns)
			}
		})
	}
}

// listRequests lists reqs one a line, for a failure message.
func listRequests(reqs []githubfake.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		b.WriteString(r.Method + " " + r.Path + "\n")
	}
	return b.String()
}
