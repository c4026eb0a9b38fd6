package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubfake"
)

// planRun returns the newest plan check run of project on sha, failing
// the test when there is none.
func planRun(t *testing.T, gh *githubfake.Server, sha, project string) githubfake.CheckRun {
	t.Helper()
	run, ok := gh.LatestCheckRun(testRepo, sha, "planbot plan: "+project)
	if !ok {
		t.Fatalf("no check run %q on %s; runs: %+v", "planbot plan: "+project, sha[:7], gh.CheckRuns(testRepo, sha))
	}
	return run
}

// runsNamed counts the check runs of sha with name.
func runsNamed(gh *githubfake.Server, sha, name string) int {
	n := 0
	for _, r := range gh.CheckRuns(testRepo, sha) {
		if r.Name == name {
			n++
		}
	}
	return n
}

// checkRequests counts the check run creates and updates since request
// number from.
func checkRequests(gh *githubfake.Server, from int) (creates, updates int) {
	for _, r := range gh.Requests()[from:] {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/check-runs"):
			creates++
		case r.Method == http.MethodPatch && strings.Contains(r.Path, "/check-runs/"):
			updates++
		}
	}
	return creates, updates
}

// click has user click a button of check run id on PR n and returns
// planbot's reply to them.
func (e *testEnv) click(n int, id int64, user, button string) string {
	e.t.Helper()
	before := len(botComments(e.gh, n))
	resp, _, err := e.gh.Click(e.t.Context(), e.url, testSecret, testRepo, id, user, button)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("click: status %d", resp.StatusCode)
	}
	return e.waitReply(n, before, user, user+" clicking "+button)
}

// TestCheckRunsPerProject plans a PR that changes two roots: each gets one
// check run, created once, already completed, with the project's summary,
// its plan, its annotation and the Apply and Re-plan buttons, next to the
// commit statuses: one request per project.
func TestCheckRunsPerProject(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	from := len(gh.Requests())
	files := map[string]string{"envs/dev/main.tf": rootTF("dev-2"), "envs/prod/main.tf": rootTF("prod-2") + "\nresource \"terraform_data\" \"x\" {\n    input=1\n}\n"}
	pr := e.openPlanned("two-roots", "carol", files, "success")
	for _, project := range []string{"envs/dev", "envs/prod"} {
		run := planRun(t, gh, pr.HeadSHA, project)
		if n := runsNamed(gh, pr.HeadSHA, run.Name); n != 1 {
			t.Errorf("%d check runs %q, want 1", n, run.Name)
		}
		if run.Status != "completed" || run.Conclusion != "success" || run.Writes != 1 || run.StartedAt.After(run.CompletedAt) {
			t.Errorf("%s: status %s, conclusion %s, %d writes, started %v, completed %v; want completed, success, 1 write (the create)",
				project, run.Status, run.Conclusion, run.Writes, run.StartedAt, run.CompletedAt)
		}
		mustContain(t, run.Title, "Terraform plan: ", "to add")
		mustContain(t, run.Summary, "`"+project+"`", "Plan: ")
		mustContain(t, run.Text, "```diff", "terraform_data.app", "will be created")
		if len(run.Actions) != 2 || run.Actions[0].Identifier != "apply" || run.Actions[1].Identifier != "replan" {
			t.Errorf("%s: actions %+v, want Apply and Re-plan", project, run.Actions)
		}
		if run.ExternalID == "" || run.DetailsURL == "" {
			t.Errorf("%s: external_id %q, details_url %q", project, run.ExternalID, run.DetailsURL)
		}
	}
	// envs/prod is not formatted: its run marks the lines.
	prod := planRun(t, gh, pr.HeadSHA, "envs/prod")
	if len(prod.Annotations) != 1 || prod.Annotations[0].Path != "envs/prod/main.tf" || prod.Annotations[0].AnnotationLevel != "warning" {
		t.Errorf("envs/prod annotations = %+v, want one warning on envs/prod/main.tf", prod.Annotations)
	}
	mustContain(t, prod.Summary, "Not formatted")
	if st, _ := status(gh, pr.HeadSHA, "planbot/plan"); st != "success" {
		t.Errorf("planbot/plan = %q: the commit status must stay", st)
	}
	if creates, updates := checkRequests(gh, from); creates != 2 || updates != 0 {
		t.Errorf("the plan made %d check run creates and %d updates, want 2 and 0 (one create per project)", creates, updates)
	}
	for _, r := range gh.Requests()[from:] {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/check-runs") &&
			(!strings.Contains(r.Body, `"status":"completed"`) || !strings.Contains(r.Body, `"started_at":`)) {
			t.Errorf("a check run was not created completed, with its start: %s", r.Body)
		}
	}
	for _, r := range gh.CheckRuns(testRepo, pr.HeadSHA) {
		if strings.Contains(r.Summary+r.Text, secretLiteral) || strings.Contains(r.Summary+r.Text, testSecret) {
			t.Errorf("check run %q shows a secret", r.Name)
		}
	}
}

// TestApplyButton clicks the Apply button of a plan check run: a person
// without write access and a non-owner before the owners approved are
// refused, in the check run's summary and in a reply; an owner who
// approved applies, planbot merges, and the audit names the clicker.
func TestApplyButton(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("apply-button", "carol", devChange("dev-button"), "success")
	run := planRun(t, gh, pr.HeadSHA, "envs/dev")

	reply := e.click(pr.Number, run.ID, "rita", "apply")
	mustContain(t, reply, "needs write access")
	refused := planRun(t, gh, pr.HeadSHA, "envs/dev")
	mustContain(t, refused.Summary, "Apply refused", "@rita", "needs write access", "`envs/dev`")
	if refused.Title != run.Title || refused.Text != run.Text || refused.Conclusion != run.Conclusion {
		t.Errorf("the refusal changed the run's title, text or conclusion: %q", refused.Title)
	}

	reply = e.click(pr.Number, run.ID, "bob", "apply")
	wantRefused(t, reply, "@acme/platform")
	refused = planRun(t, gh, pr.HeadSHA, "envs/dev")
	mustContain(t, refused.Summary, "Apply refused", "@bob", "approvals are not complete")
	if strings.Contains(refused.Summary, "@rita") {
		t.Error("the second refusal kept the first one")
	}
	if gh.PR(testRepo, pr.Number).Merged {
		t.Fatal("a refused click merged the PR")
	}

	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	from := len(gh.Requests())
	reply = e.click(pr.Number, run.ID, "dave", "apply")
	mustContain(t, reply, "applied `envs/dev`", "merged")
	if !gh.PR(testRepo, pr.Number).Merged {
		t.Fatalf("the Apply button of an approved owner did not merge:\n%s", reply)
	}
	applied, ok := gh.LatestCheckRun(testRepo, pr.HeadSHA, "planbot apply: envs/dev")
	if !ok || applied.Status != "completed" || applied.Conclusion != "success" || applied.Writes != 1 {
		t.Errorf("apply check run = %+v, want completed, success, 1 write", applied)
	}
	if creates, updates := checkRequests(gh, from); creates != 1 || updates != 0 {
		t.Errorf("the apply made %d check run creates and %d updates, want 1 and 0 (the apply run's create)", creates, updates)
	}
	mustContain(t, applied.Title, "Terraform applied")
	mustContain(t, applied.Summary, "applied `envs/dev`")

	var actors []string
	for _, en := range e.auditEntries(pr.Number) {
		switch en.Action {
		case audit.ActionApplyRefused, audit.ActionApply, audit.ActionMerge:
			actors = append(actors, en.Action+":"+en.Actor)
		}
	}
	want := []string{"apply_refused:rita", "apply_refused:bob", "apply:dave", "merge:dave"}
	if fmt.Sprint(actors) != fmt.Sprint(want) {
		t.Errorf("audit = %v, want %v", actors, want)
	}
}

// TestApplyButtonOfAnOlderHead clicks Apply on the check run of a head the
// PR has moved on from: it is refused, however approved the new head.
func TestApplyButtonOfAnOlderHead(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("old-head", "carol", devChange("dev-old"), "success")
	old := planRun(t, gh, pr.HeadSHA, "envs/dev")
	sha := gh.Commit(testRepo, "old-head", devChange("dev-new"), nil, "again")
	e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("plan of the new head = %s", got)
	}
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha)
	reply := e.click(pr.Number, old.ID, "dave", "apply")
	wantRefused(t, reply, "this check run is for "+pr.HeadSHA[:7]+" but head is "+sha[:7])
	mustContain(t, planRun(t, gh, pr.HeadSHA, "envs/dev").Summary, "Apply refused", "@dave")
	if gh.PR(testRepo, pr.Number).Merged {
		t.Error("a click on an old head's check run merged the PR")
	}
}

// TestBigPlanCheckRun plans about 70,000 characters: the check run's text
// fits the Checks API's limit (the fake refuses more) and keeps the count.
func TestBigPlanCheckRun(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	files := map[string]string{"envs/dev/main.tf": rootTF("dev") + `
resource "terraform_data" "many" {
  count = 700
  input = "value-${count.index}"
}
`}
	pr := e.openPlanned("big-check", "carol", files, "success")
	run := planRun(t, gh, pr.HeadSHA, "envs/dev")
	var plan string
	for _, c := range botComments(gh, pr.Number) {
		plan += c.Body
	}
	if len(plan) < 70000 {
		t.Fatalf("the plan comment has %d characters; the test needs a plan of 70,000", len(plan))
	}
	if run.Status != "completed" || len(run.Text) > 65535 || len(run.Summary) > 65535 {
		t.Fatalf("run %s with a text of %d bytes and a summary of %d", run.Status, len(run.Text), len(run.Summary))
	}
	mustContain(t, run.Text, "Plan: 701 to add, 0 to change, 0 to destroy.", "omitted")
	mustContain(t, run.Title, "701 to add")
}

// TestRerunReplans re-runs planbot's check runs from GitHub: a check run's
// re-run, its check suite's re-run and the Re-plan button each plan the
// pull request again.
func TestRerunReplans(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("rerun", "carol", devChange("dev-rerun"), "success")
	run := planRun(t, gh, pr.HeadSHA, "envs/dev")
	replans := 1
	waitReplan := func(what string) {
		t.Helper()
		replans++
		waitFor(t, 3*time.Minute, what, func() bool {
			if runsNamed(gh, pr.HeadSHA, run.Name) < replans {
				return false
			}
			return planRun(t, gh, pr.HeadSHA, "envs/dev").Status == "completed"
		})
	}
	e.waitJob(e.deliver("check_run", gh.CheckRunEvent("rerequested", testRepo, run.ID, "bob", ""), http.StatusAccepted))
	waitReplan("re-plan after a check run's re-run")
	e.waitJob(e.deliver("check_suite", gh.CheckSuiteEvent("rerequested", testRepo, pr.HeadSHA, "bob"), http.StatusAccepted))
	waitReplan("re-plan after a check suite's re-run")
	resp, id, err := gh.Click(t.Context(), e.url, testSecret, testRepo, planRun(t, gh, pr.HeadSHA, "envs/dev").ID, "bob", "replan")
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("click Re-plan: %v", err)
	}
	e.waitJob(id)
	waitReplan("re-plan after the Re-plan button")
	// Re-plan needs write access, as /plan does.
	latest := planRun(t, gh, pr.HeadSHA, "envs/dev")
	mustContain(t, e.click(pr.Number, latest.ID, "rita", "replan"), "needs write access")
	mustContain(t, planRun(t, gh, pr.HeadSHA, "envs/dev").Summary, "Re-plan refused", "@rita")
	if n := runsNamed(gh, pr.HeadSHA, run.Name); n != replans {
		t.Errorf("a refused Re-plan planned: %d runs, want %d", n, replans)
	}
	plans := 0
	for _, en := range e.auditEntries(pr.Number) {
		if en.Action == audit.ActionPlan && en.Project == "envs/dev" {
			plans++
		}
	}
	if plans != replans {
		t.Errorf("%d plans in the audit log, want %d", plans, replans)
	}
	planComment(t, gh, pr.Number) // still one comment, edited
}

// TestChecksOff runs with --checks=off: plans set the commit statuses and
// write no check run.
func TestChecksOff(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--checks=off")
	pr := e.openPlanned("no-checks", "carol", devChange("dev-off"), "success")
	if runs := gh.CheckRuns(testRepo, pr.HeadSHA); len(runs) != 0 {
		t.Errorf("--checks=off wrote check runs: %+v", runs)
	}
	if creates, updates := checkRequests(gh, 0); creates+updates != 0 {
		t.Errorf("--checks=off made %d check run requests", creates+updates)
	}
	planComment(t, gh, pr.Number)
}
