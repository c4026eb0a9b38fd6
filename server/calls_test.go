package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/githubfake"
)

// TestGitHubCalls pins the GitHub requests of a re-plan and of an /apply
// through merge, one by one, so that a new call cannot slip in unnoticed:
// each costs a request of the installation's hourly rate limit, and
// docs/performance.md counts them. BenchmarkPlanEndToEnd and
// BenchmarkApplyEndToEnd report the same counts and fail above them.
func TestGitHubCalls(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("calls", "carol", devChange("calls-1"), "success")
	commentID := planComment(t, gh, pr.Number).ID

	// A re-plan: a push to the pull request, planned and commented.
	sha := gh.Commit(testRepo, "calls", devChange("calls-2"), nil, "again")
	before := len(gh.Requests())
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("re-plan = %s", got)
	}
	n := pr.Number
	// The pending status and the list of files are asked for while the
	// fetch runs, so the order varies: the lists are compared sorted.
	wantPlan := []string{
		"GET /repos/acme/infra/pulls/" + itoa(n) + "/files",
		"POST /repos/acme/infra/statuses/" + sha,
		// One fetch of base and head.
		"GET /git/acme/infra.git/info/refs",
		"POST /git/acme/infra.git/git-upload-pack",
		"POST /git/acme/infra.git/git-upload-pack",
		// The plan comment, edited by its stored id, and the outcome.
		fmt.Sprintf("PATCH /repos/acme/infra/issues/comments/%d", commentID),
		"POST /repos/acme/infra/statuses/" + sha,
	}
	got := requestLines(gh.Requests()[before:])
	slices.Sort(got)
	slices.Sort(wantPlan)
	if diff := cmp.Diff(got, wantPlan); diff != "" {
		t.Errorf("GitHub requests of a re-plan (-got +want):\n%s", diff)
	}

	// An approved /apply that applies and merges.
	gh.SubmitReview(testRepo, n, "dave", "APPROVED", sha)
	c := gh.AddComment(testRepo, n, "bob", "/apply")
	before = len(gh.Requests())
	e.waitJob(e.deliver("issue_comment", gh.IssueCommentEvent(testRepo, n, c), http.StatusAccepted))
	if !gh.PR(testRepo, n).Merged {
		t.Fatalf("PR #%d not merged by /apply", n)
	}
	wantApply := []string{
		fmt.Sprintf("POST /repos/acme/infra/issues/comments/%d/reactions", c.ID),
		"GET /repos/acme/infra/collaborators/bob/permission",
		"GET /repos/acme/infra/pulls/" + itoa(n),
		"GET /git/acme/infra.git/info/refs",
		"POST /git/acme/infra.git/git-upload-pack",
		"GET /repos/acme/infra/pulls/" + itoa(n) + "/reviews",
		"GET /repos/acme/infra/collaborators/dave/permission",
		"GET /orgs/acme/teams/platform/memberships/dave",
		"PUT /repos/acme/infra/pulls/" + itoa(n) + "/merge",
		"POST /repos/acme/infra/issues/" + itoa(n) + "/comments",
	}
	if diff := cmp.Diff(requestLines(gh.Requests()[before:]), wantApply); diff != "" {
		t.Errorf("GitHub requests of an /apply (-got +want):\n%s", diff)
	}
}

// requestLines returns "METHOD /path" of each request.
func requestLines(reqs []githubfake.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}
