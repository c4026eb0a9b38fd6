package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/planbot/planbot/githubfake"
)

func mustContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("comment lacks %q:\n%s", s, body)
		}
	}
}

// TestPlanEndToEnd drives the core loop: signed webhook → durable queue →
// isolated workspace → terraform plan → one PR comment, edited in place.
func TestPlanEndToEnd(t *testing.T) { forEachEngine(t, testPlanEndToEnd) }

func testPlanEndToEnd(t *testing.T, eng testEngine) {
	gh := newFake(t)
	e := eng.start(t, gh, t.TempDir())

	sha1, pr := renameDev(gh, "dev-change", "dev-2")
	id := e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)

	if got := waitStatus(t, gh, sha1, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	c := planComment(t, gh, pr.Number)
	mustContain(t, c.Body, "envs/dev", "1 to add", sha1[:7], "one of `@acme/platform` for `envs/dev/main.tf`", eng.engine.Name()+" will perform the following actions")
	eng.wantNamed(t, c.Body)
	eng.wantStatusNamed(t, gh, sha1)
	if strings.Contains(c.Body, "envs/prod") {
		t.Errorf("a change under envs/dev planned envs/prod:\n%s", c.Body)
	}

	// A redelivery of the same delivery is a no-op: no second plan.
	writes := len(gh.CommentHistory(testRepo, pr.Number))
	resp, err := gh.Redeliver(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("redelivery status = %d, want 200", resp.StatusCode)
	}

	// A change to the shared module plans both roots, in the same comment.
	sha2 := gh.Commit(testRepo, "dev-change", map[string]string{"modules/app/main.tf": strings.Replace(infraFiles()["modules/app/main.tf"], "input = var.name", "input = \"app-${var.name}\"", 1)}, nil, "prefix app names")
	e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha2, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan on second push = %s, want success", got)
	}
	c2 := planComment(t, gh, pr.Number)
	if c2.ID != c.ID {
		t.Errorf("re-plan posted comment %d, want comment %d edited in place", c2.ID, c.ID)
	}
	mustContain(t, c2.Body, "envs/dev", "envs/prod", sha2[:7])
	if strings.Contains(c2.Body, sha1[:7]) {
		t.Errorf("edited comment still names the old head %s", sha1[:7])
	}
	hist := gh.CommentHistory(testRepo, pr.Number)
	creates := 0
	for _, w := range hist[:writes] {
		if w.Op == "create" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("first plan and the redelivery created %d comments, want 1", creates)
	}
}

// TestBigPlanSplits plans 4,000 resources: every comment stays within
// GitHub's limit, the first holds the summary, and a re-plan edits every
// part in place.
// TestReopenedPRIsPlannedAgain: a pull request closed and then reopened
// with a new commit on its branch is planned at that commit, in the same
// plan comment.
func TestReopenedPRIsPlannedAgain(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("reopen", "carol", devChange("dev-before"), "success")
	first := planComment(t, gh, pr.Number)
	e.close(pr.Number)

	sha := gh.Commit(testRepo, "reopen", devChange("dev-after"), nil, "while closed")
	gh.ReopenPR(testRepo, pr.Number)
	e.deliver("pull_request", gh.PullRequestEvent("reopened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan of the reopened PR's new head = %s, want success", got)
	}
	c := planComment(t, gh, pr.Number)
	if c.ID != first.ID || !strings.Contains(c.Body, "dev-after") || strings.Contains(c.Body, "dev-before") {
		t.Errorf("plan comment after the reopen (id %d, first %d):\n%s", c.ID, first.ID, c.Body)
	}
}

func TestBigPlanSplits(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 4,000 resources")
	}
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	big := func(prefix string) map[string]string {
		return map[string]string{"envs/dev/main.tf": rootTF("dev") + fmt.Sprintf(`
resource "terraform_data" "many" {
  count = 4000
  input = "%s-${count.index}"
}
`, prefix)}
	}
	sha1 := gh.Commit(testRepo, "big", big("a"), nil, "many resources")
	pr := gh.OpenPR(testRepo, "big", "main", "carol", "Big plan")
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha1, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s", got)
	}
	parts := botComments(gh, pr.Number)
	if len(parts) < 2 {
		t.Fatalf("a plan of 4,000 resources fit in %d comment(s)", len(parts))
	}
	for i, c := range parts {
		if n := utf8.RuneCountInString(c.Body); n > 65536 {
			t.Errorf("comment %d has %d runes", i+1, n)
		}
	}
	mustContain(t, parts[0].Body, "| Project |", "`envs/dev`", "4001 to add", sha1[:7])

	sha2 := gh.Commit(testRepo, "big", big("b"), nil, "rename")
	e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha2, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan after push = %s", got)
	}
	again := botComments(gh, pr.Number)
	if len(again) != len(parts) {
		t.Fatalf("re-plan left %d comments, want the same %d edited", len(again), len(parts))
	}
	for i := range again {
		if again[i].ID != parts[i].ID {
			t.Errorf("part %d is comment %d, was %d", i+1, again[i].ID, parts[i].ID)
		}
		if n := utf8.RuneCountInString(again[i].Body); n > 65536 {
			t.Errorf("re-planned comment %d has %d runes", i+1, n)
		}
	}
	mustContain(t, again[0].Body, sha2[:7])
}

// TestGitHubOutageIsRetried fails planbot's first GitHub call with a 502:
// the job is retried after its backoff and the plan is posted.
func TestGitHubOutageIsRetried(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--retry-backoff=200ms")
	sha := gh.Commit(testRepo, "outage", devChange("dev-outage"), nil, "change dev")
	pr := gh.OpenPR(testRepo, "outage", "main", "carol", "Outage")
	gh.FailNext(githubfake.Failure{Status: http.StatusBadGateway, Message: "Server Error"})
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success after a retry", got)
	}
	if !strings.Contains(e.logs.String(), "job failed") {
		t.Error("the first attempt did not fail; the test proves nothing")
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, "1 to add")
}

// TestStartsWhileGitHubIsDown starts planbot while GitHub answers 503:
// webhooks are stored and planned once GitHub is back.
func TestStartsWhileGitHubIsDown(t *testing.T) {
	gh := newFake(t)
	gh.FailNext(githubfake.Failure{Status: http.StatusServiceUnavailable, Message: "Service Unavailable"})
	e := startServer(t, gh, t.TempDir(), "--retry-backoff=200ms")
	if !strings.Contains(e.logs.String(), "cannot reach GitHub") {
		t.Fatal("GitHub was reachable at start; the test proves nothing")
	}
	sha := gh.Commit(testRepo, "down", devChange("dev-down"), nil, "change dev")
	pr := gh.OpenPR(testRepo, "down", "main", "carol", "Down")
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s", got)
	}
	planComment(t, gh, pr.Number)
}

// TestFormatOfSeveralRoots plans a pull request that changes two roots,
// one of them not formatted: planbot checks both with one terraform fmt,
// and the comment shows the formatting diff of that root only, as each
// root's own check would.
func TestFormatOfSeveralRoots(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	unformatted := "module \"app\" {\n  source = \"../../modules/app\"\n  name=\"dev-fmt\"\n}\n"
	sha := gh.Commit(testRepo, "fmt", map[string]string{
		"envs/dev/main.tf":  unformatted,
		"envs/prod/main.tf": rootTF("prod-fmt"),
	}, nil, "two roots")
	pr := gh.OpenPR(testRepo, "fmt", "main", "carol", "Two roots")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted))
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("plan = %s", got)
	}
	body := planComment(t, gh, pr.Number).Body
	for _, want := range []string{"--- old/main.tf", "+  name   = \"dev-fmt\"", "-  name=\"dev-fmt\""} {
		if !strings.Contains(body, want) {
			t.Errorf("plan comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Count(body, "--- old/") != 1 || strings.Contains(body, "envs/dev/main.tf\n--- old") {
		t.Errorf("plan comment shows other formatting diffs than dev's, or with the root's path:\n%s", body)
	}
	if n := strings.Count(e.logs.String(), "command=fmt"); n != 1 {
		t.Errorf("terraform fmt ran %d times for the two roots, want 1", n)
	}
}
