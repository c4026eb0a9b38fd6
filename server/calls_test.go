package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/githubfake"
)

// TestGitHubCalls pins the GitHub requests of a re-plan of one project (a
// push to a planned pull request) and of an /apply through merge, one by
// one, with check runs on and off, so that a new call cannot slip in
// unnoticed: each costs a request of the installation's hourly rate limit,
// and docs/performance.md counts them. Check runs cost one create per
// project and plan, and one per applied project. BenchmarkPlanEndToEnd
// and BenchmarkApplyEndToEnd report the same counts.
func TestGitHubCalls(t *testing.T) {
	for _, checks := range []string{"on", "off"} {
		t.Run("checks="+checks, func(t *testing.T) {
			gh := newFake(t)
			e := startServer(t, gh, t.TempDir(), "--checks="+checks)
			var runs []string
			if checks == "on" {
				runs = []string{"POST /repos/acme/infra/check-runs"}
			}

			// A new pull request: planned and commented without listing
			// its comments. (The App's own calls at the first job, for the
			// installation's token and missed deliveries, are left out.)
			from := len(gh.Requests())
			pr := e.openPlanned("calls", "carol", devChange("dev-calls-1"), "success")
			commentID := planComment(t, gh, pr.Number).ID
			n := itoa(pr.Number)
			first := slices.DeleteFunc(slices.Clone(gh.Requests()[from:]), func(r githubfake.Request) bool { return strings.HasPrefix(r.Path, "/app/") })
			compareRequests(t, "a new pull request", first, append([]string{
				"GET /repos/acme/infra/pulls/" + n + "/files",
				"POST /repos/acme/infra/statuses/" + pr.HeadSHA,
				"GET /git/acme/infra.git/info/refs",
				"POST /git/acme/infra.git/git-upload-pack",
				"POST /git/acme/infra.git/git-upload-pack",
				"POST /repos/acme/infra/issues/" + n + "/comments",
				"POST /repos/acme/infra/statuses/" + pr.HeadSHA,
			}, runs...))

			// A re-plan: a push to the pull request, planned and commented.
			from = len(gh.Requests())
			sha := gh.Commit(testRepo, "calls", devChange("dev-calls-2"), nil, "again")
			e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted))
			if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
				t.Fatalf("re-plan = %s", got)
			}
			wantPlan := append([]string{
				"GET /repos/acme/infra/pulls/" + n + "/files",
				"POST /repos/acme/infra/statuses/" + sha,
				// One fetch of base and head.
				"GET /git/acme/infra.git/info/refs",
				"POST /git/acme/infra.git/git-upload-pack",
				"POST /git/acme/infra.git/git-upload-pack",
				// The plan comment, edited by its stored id, and the outcome.
				fmt.Sprintf("PATCH /repos/acme/infra/issues/comments/%d", commentID),
				"POST /repos/acme/infra/statuses/" + sha,
			}, runs...)
			// The pending status and the list of files are asked for while
			// the fetch runs, so the order varies: the lists are compared
			// sorted.
			compareRequests(t, "a re-plan", gh.Requests()[from:], wantPlan)

			// An approved /apply that applies and merges.
			gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha)
			c := gh.AddComment(testRepo, pr.Number, "bob", "/apply")
			from = len(gh.Requests())
			e.waitJob(e.deliver("issue_comment", gh.IssueCommentEvent(testRepo, pr.Number, c), http.StatusAccepted))
			waitFor(t, 3*time.Minute, "merge", func() bool { return gh.PR(testRepo, pr.Number).Merged })
			wantApply := append([]string{
				fmt.Sprintf("POST /repos/acme/infra/issues/comments/%d/reactions", c.ID),
				"GET /repos/acme/infra/collaborators/bob/permission",
				"GET /repos/acme/infra/pulls/" + n,
				"GET /git/acme/infra.git/info/refs",
				"POST /git/acme/infra.git/git-upload-pack",
				"GET /repos/acme/infra/pulls/" + n + "/reviews",
				"GET /repos/acme/infra/collaborators/dave/permission",
				"GET /orgs/acme/teams/platform/memberships/dave",
				"PUT /repos/acme/infra/pulls/" + n + "/merge",
				"POST /repos/acme/infra/statuses/" + sha,
				"POST /repos/acme/infra/issues/" + n + "/comments",
			}, runs...)
			compareRequests(t, "an /apply", gh.Requests()[from:], wantApply)
		})
	}
}

// compareRequests compares "METHOD /path" of reqs with want, both sorted.
func compareRequests(t *testing.T, what string, reqs []githubfake.Request, want []string) {
	t.Helper()
	var got []string
	for _, r := range reqs {
		got = append(got, r.Method+" "+r.Path)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("GitHub requests of %s (-got +want):\n%s", what, diff)
	}
}

// TestNewPullRequestCommentRetried: when creating the first plan comment
// of a new pull request fails, the job is retried, and the retry lists the
// comments before it writes (the failed creation might have been written
// after all): the pull request ends with one plan comment.
func TestNewPullRequestCommentRetried(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--retry-backoff=200ms")
	sha, pr := renameDev(gh, "retry-comment", "dev-retry-comment")
	n := itoa(pr.Number)
	gh.FailRoute(http.MethodPost, "/repos/acme/infra/issues/"+n+"/comments", githubfake.Failure{Status: http.StatusBadGateway, Message: "Server Error"})
	from := len(gh.Requests())
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success after a retry", got)
	}
	var creates, lists int
	for _, r := range gh.Requests()[from:] {
		switch r.Method + " " + r.Path {
		case "POST /repos/acme/infra/issues/" + n + "/comments":
			creates++
		case "GET /repos/acme/infra/issues/" + n + "/comments":
			lists++
		}
	}
	if creates != 2 || lists == 0 {
		t.Errorf("%d comment creations and %d lists, want the failed one and one more after a list", creates, lists)
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, sha[:7])
}

// TestNewBranchPrefetched: the push that creates a branch fetches its
// commits, so the plan of the pull request then opened from it fetches
// nothing; a push to a branch that exists is no work.
func TestNewBranchPrefetched(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	sha := gh.Commit(testRepo, "prefetched", devChange("dev-prefetched"), nil, "change dev")
	from := len(gh.Requests())
	e.waitJob(e.deliver("push", gh.PushEvent(testRepo, "prefetched", "", "carol"), http.StatusAccepted))
	if _, git := countRequests(gh.Requests()[from:]); git == 0 {
		t.Fatal("the push of a new branch fetched nothing")
	}

	from = len(gh.Requests())
	pr := gh.OpenPR(testRepo, "prefetched", "main", "carol", "Prefetched")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s", got)
	}
	for _, r := range gh.Requests()[from:] {
		if strings.HasPrefix(r.Path, "/git/") {
			t.Errorf("the plan of a prefetched head fetched: %s %s", r.Method, r.Path)
		}
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, sha[:7], "1 to add")

	// A push to the pull request's branch, which exists, is no work: the
	// synchronize webhook plans it, with its own fetch.
	before := gh.Branch(testRepo, "prefetched")
	sha2 := gh.Commit(testRepo, "prefetched", devChange("dev-prefetched-2"), nil, "again")
	from = len(gh.Requests())
	e.deliver("push", gh.PushEvent(testRepo, "prefetched", before, "carol"), http.StatusAccepted)
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha2, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan of the new head = %s", got)
	}
	if _, git := countRequests(gh.Requests()[from:]); git != maxPlanGit {
		t.Errorf("a push and a re-plan made %d git requests, want the re-plan's %d", git, maxPlanGit)
	}
}
