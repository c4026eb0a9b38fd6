package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
)

// TestRateLimitPostponesJob has GitHub answer the plan's first REST call
// with the installation's rate limit used up for two hours, as GitHub
// does: 403, x-ratelimit-remaining 0 and x-ratelimit-reset. The job is
// put back in the queue until exactly that reset, with no attempt counted
// and nothing failed or posted on the pull request.
func TestRateLimitPostponesJob(t *testing.T) {
	gh := newFake(t)
	sha, pr := renameDev(gh, "limited", "dev-limited")
	reset := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	// A plan of a pull_request event takes the PR from the payload: its
	// first REST call sets the pending status of the head.
	gh.FailRoute("POST", fmt.Sprintf("/repos/%s/statuses/%s", testRepo, sha), githubfake.RateLimited(1, reset))

	e := startServer(t, gh, t.TempDir())
	delivery := e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)

	st := e.openDB()
	defer st.Close()
	j := waitJobOf(t, st, delivery, time.Minute, "the rate-limited job back in the queue", func(j *store.Job) bool {
		return j.State != store.JobRunning && j.LastError != ""
	})
	if j.State != store.JobQueued || j.Attempts != 0 || !j.RunAfter.Equal(reset) {
		t.Errorf("rate-limited job: state %s attempts %d run after %v; want queued, 0, %v (the reset)", j.State, j.Attempts, j.RunAfter, reset)
	}
	if !strings.Contains(j.LastError, "API rate limit exceeded") {
		t.Errorf("LastError = %q, want GitHub's rate-limit message", j.LastError)
	}
	if got := gh.Statuses(testRepo, sha); len(got) != 0 {
		t.Errorf("statuses set while rate-limited: %+v", got)
	}
	if got := botComments(gh, pr.Number); len(got) != 0 {
		t.Errorf("comments posted while rate-limited: %+v", got)
	}
	if body := e.scrape(); !strings.Contains(body, `planbot_jobs_total{event="pull_request",result="postponed"} 1`) {
		t.Errorf("metrics lack the postponed job:\n%s", body)
	}
}
