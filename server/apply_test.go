package server

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
)

func wantRefused(t *testing.T, reply string, subs ...string) {
	t.Helper()
	if !strings.Contains(reply, "apply refused") {
		t.Fatalf("reply is not a refusal:\n%s", reply)
	}
	for _, s := range subs {
		if !strings.Contains(reply, s) {
			t.Errorf("refusal lacks %q:\n%s", s, reply)
		}
	}
}

func TestApplyGate(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())

	// Each refusal leaves planbot/apply failed and nothing merged.
	refusals := []struct {
		name, branch, author string
		by                   string // comments /apply; bob if empty
		change               map[string]string
		approvers            []string // approve the head
		requesters           []string // request changes at the head
		dismiss              bool     // dismiss the approvals again
		draft                bool     // turn the pull request into a draft
		before               func()   // runs before the /apply
		want                 []string // in the refusal
	}{
		{name: "no approval is refused", branch: "no-approval", author: "carol", change: devChange("dev-a"), want: []string{"@acme/platform"}},
		{name: "author's own approval does not count", branch: "self-approval", author: "dave", by: "dave", change: devChange("dev-c"), approvers: []string{"dave"}, want: []string{"@acme/platform"}},
		{name: "changes requested by an owner blocks", branch: "changes-requested", author: "carol", change: devChange("dev-d"), approvers: []string{"dave"}, requesters: []string{"erin"}, want: []string{"erin"}},
		{name: "prod approved only by platform is refused", branch: "prod-platform", author: "carol", change: prodChange("prod-a"), approvers: []string{"dave"}, want: []string{"@alice"}},
		{name: "dismissed approval does not count", branch: "dismissed", author: "carol", change: devChange("dev-f"), approvers: []string{"dave"}, dismiss: true, want: []string{"@acme/platform"}},
		{name: "draft is refused", branch: "draft", author: "carol", change: devChange("dev-g"), approvers: []string{"dave"}, draft: true, want: []string{"draft"}},
		{name: "base changed a module after the plan", branch: "stale-base", author: "carol", change: devChange("dev-stale"), approvers: []string{"dave"}, want: []string{"modules/app", "run /plan"},
			before: func() {
				gh.Commit(testRepo, "main", map[string]string{"modules/app/main.tf": infraFiles()["modules/app/main.tf"] + "\n# tuned\n"}, nil, "tune the module")
			}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			pr := e.openPlanned(tt.branch, tt.author, tt.change, "success")
			for _, u := range tt.approvers {
				id := gh.SubmitReview(testRepo, pr.Number, u, "APPROVED", pr.HeadSHA)
				if tt.dismiss {
					gh.DismissReview(testRepo, pr.Number, id)
				}
			}
			if tt.draft {
				gh.SetDraft(testRepo, pr.Number, true)
			}
			for _, u := range tt.requesters {
				gh.SubmitReview(testRepo, pr.Number, u, "CHANGES_REQUESTED", pr.HeadSHA)
			}
			if tt.before != nil {
				tt.before()
			}
			by := cmp.Or(tt.by, "bob")
			wantRefused(t, e.command(pr.Number, by, "/apply"), tt.want...)
			if st, _ := status(gh, pr.HeadSHA, "planbot/apply"); st != "failure" {
				t.Errorf("planbot/apply = %q, want failure", st)
			}
			if got := mergeRequests(gh, pr.Number); len(got) != 0 {
				t.Errorf("refused apply merged: %v", got)
			}
			e.close(pr.Number)
		})
	}

	t.Run("read-only user is refused", func(t *testing.T) {
		pr := e.openPlanned("read-only", "carol", devChange("dev-b"), "success")
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
		reply := e.command(pr.Number, "rita", "/apply")
		if !strings.Contains(reply, "needs write access") {
			t.Fatalf("read-only /apply reply:\n%s", reply)
		}
		if gh.PR(testRepo, pr.Number).Merged {
			t.Error("a read-only user's /apply merged the PR")
		}
		e.close(pr.Number)
	})

	t.Run("new push needs a re-approval", func(t *testing.T) {
		pr := e.openPlanned("repush", "carol", devChange("dev-e"), "success")
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
		sha2 := gh.Commit(testRepo, "repush", devChange("dev-e2"), nil, "again")
		e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted)
		if got := waitStatus(t, gh, sha2, "planbot/plan"); got != "success" {
			t.Fatalf("re-plan = %s", got)
		}
		reply := e.command(pr.Number, "bob", "/apply")
		wantRefused(t, reply, "@acme/platform")
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha2)
		reply = e.command(pr.Number, "bob", "/apply")
		if !strings.Contains(reply, "merged") {
			t.Fatalf("re-approved apply did not merge:\n%s", reply)
		}
		// The refusal at this head set failure; the merge replaces it.
		if st, _ := status(gh, sha2, "planbot/apply"); st != "success" {
			t.Errorf("planbot/apply after a refusal and a merge = %q, want success", st)
		}
	})
}

// TestApplyRequiredStatus: branch protection that requires planbot/apply
// (so that nobody merges a pull request planbot has not applied) lets
// planbot's own merge through: the status is success before the merge.
func TestApplyRequiredStatus(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	gh.RequireStatusChecks(testRepo, "main", "planbot/plan", "planbot/apply")
	pr := e.openPlanned("required", "carol", devChange("dev-required"), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	reply := e.command(pr.Number, "bob", "/apply")
	if !strings.Contains(reply, "merged") || !gh.PR(testRepo, pr.Number).Merged {
		t.Fatalf("/apply with planbot/apply required did not merge:\n%s", reply)
	}
	if st, _ := status(gh, pr.HeadSHA, "planbot/apply"); st != "success" {
		t.Errorf("planbot/apply = %q, want success", st)
	}

	// A pull request that changes no project has nothing to apply: its
	// planbot/apply is success, so that it can be merged by hand.
	sha := gh.Commit(testRepo, "docs", map[string]string{"README.md": "# infra, documented\n"}, nil, "docs")
	docs := gh.OpenPR(testRepo, "docs", "main", "carol", "Docs")
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, docs.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan of a pull request without projects = %s", got)
	}
	if st, desc := status(gh, sha, "planbot/apply"); st != "success" || !strings.Contains(desc, "nothing to apply") {
		t.Errorf("planbot/apply of a pull request without projects = %q (%q), want success: nothing to apply", st, desc)
	}
}

// TestApplyMergeBlocked: when GitHub refuses the merge after the apply
// (405, a branch protection rule planbot does not check), the reply says
// the changes are applied and why the merge failed, planbot/apply fails,
// and once the block is lifted /apply merges without applying again.
func TestApplyMergeBlocked(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("blocked", "carol", devChange("dev-blocked"), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	const block = "Required status check \"ci/test\" is expected."
	gh.BlockMerge(testRepo, pr.Number, block)

	reply := e.command(pr.Number, "bob", "/apply")
	for _, want := range []string{"Apply complete", "The changes are applied, but the merge failed", block} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	if st, desc := status(gh, pr.HeadSHA, "planbot/apply"); st != "failure" || !strings.Contains(desc, "merge failed") {
		t.Errorf("planbot/apply = %q (%q), want failure: the merge failed", st, desc)
	}
	if gh.PR(testRepo, pr.Number).Merged {
		t.Fatal("a blocked merge merged")
	}

	gh.BlockMerge(testRepo, pr.Number, "")
	reply = e.command(pr.Number, "bob", "/apply")
	if !strings.Contains(reply, "merged") || strings.Contains(reply, "Apply complete") {
		t.Errorf("the /apply after the block merges without applying again; reply:\n%s", reply)
	}
	if !gh.PR(testRepo, pr.Number).Merged {
		t.Error("not merged once the block was lifted")
	}
	if st, _ := status(gh, pr.HeadSHA, "planbot/apply"); st != "success" {
		t.Errorf("planbot/apply after the merge = %q, want success", st)
	}
}

func TestApplyMergesAndLocks(t *testing.T) { forEachEngine(t, testApplyMergesAndLocks) }

func testApplyMergesAndLocks(t *testing.T, eng testEngine) {
	gh := newFake(t)
	e := eng.start(t, gh, t.TempDir())

	first := e.openPlanned("first", "carol", devChange("dev-1"), "success")
	second := e.openPlanned("second", "bob", devChange("dev-2"), "failure")
	c := planComment(t, gh, second.Number)
	if !strings.Contains(c.Body, "#"+itoa(first.Number)) || !strings.Contains(strings.ToLower(c.Body), "locked") {
		t.Fatalf("second PR's comment does not say it is locked by #%d:\n%s", first.Number, c.Body)
	}

	// Merge commits are off in the repository's settings: planbot picks
	// the method the repository allows.
	gh.SetMergeMethods(testRepo, false, true)
	gh.SubmitReview(testRepo, first.Number, "dave", "APPROVED", first.HeadSHA)
	reply := e.command(first.Number, "bob", "/apply")
	if !strings.Contains(reply, "applied") || !strings.Contains(reply, "merged") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	eng.wantNamed(t, planComment(t, gh, first.Number).Body)
	merged := gh.PR(testRepo, first.Number)
	if !merged.Merged {
		t.Fatal("PR not merged after apply")
	}
	// planbot tries a merge commit first, as the settings usually allow
	// one, and reads the settings only when GitHub refuses it.
	reqs := mergeRequests(gh, first.Number)
	if len(reqs) != 2 || reqs[0]["merge_method"] != "merge" || reqs[1]["merge_method"] != "squash" ||
		reqs[0]["sha"] != first.HeadSHA || reqs[1]["sha"] != first.HeadSHA {
		t.Fatalf("merge requests = %v, want a refused merge commit, then a squash, both with sha %s", reqs, first.HeadSHA)
	}
	if st, _ := status(gh, first.HeadSHA, "planbot/apply"); st != "success" {
		t.Errorf("planbot/apply = %q, want success", st)
	}
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("closed", testRepo, first.Number), http.StatusAccepted))
	// The saved plans, which hold unmasked values, are gone with the PR.
	st := e.openDB()
	defer st.Close()
	if p, err := st.LatestPlan(context.Background(), testRepo, first.Number, "envs/dev"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("plan of the closed PR still stored: %+v, %v", p, err)
	}

	// The lock is free now: the second PR plans.
	reply = e.command(second.Number, "bob", "/plan")
	_ = reply
	waitFor(t, 3*time.Minute, "second PR planned", func() bool {
		body := planComment(t, gh, second.Number).Body
		return !strings.Contains(strings.ToLower(body), "locked by")
	})
}

// TestLockReleasedWhenChangeReverted releases a PR's lock on a project
// once a push stops changing it.
func TestLockReleasedWhenChangeReverted(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	first := e.openPlanned("revert", "carol", devChange("dev-r"), "success")
	sha := gh.Commit(testRepo, "revert", map[string]string{"envs/dev/main.tf": infraFiles()["envs/dev/main.tf"], "README.md": "# infra, documented\n"}, nil, "revert dev")
	e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, first.Number), http.StatusAccepted)
	waitStatus(t, gh, sha, "planbot/plan")
	if st, _ := status(gh, sha, "planbot/apply"); st != "success" {
		t.Errorf("planbot/apply of a head that changes no project = %q, want success", st)
	}

	second := e.openPlanned("after-revert", "bob", devChange("dev-s"), "success")
	if body := planComment(t, gh, second.Number).Body; strings.Contains(strings.ToLower(body), "locked") {
		t.Fatalf("the lock of a reverted change was kept:\n%s", body)
	}
}

// TestUnlock releases locks: a PR its own, an admin another PR's, and
// nobody else another PR's.
func TestUnlock(t *testing.T) {
	gh := newFake(t)
	gh.SetCollaborator(testRepo, "root", "admin")
	e := startServer(t, gh, t.TempDir())
	holder := e.openPlanned("holder", "carol", devChange("dev-h"), "success")
	waiting := e.openPlanned("waiting", "carol", devChange("dev-w"), "failure")

	if reply := e.command(waiting.Number, "bob", "/unlock -d envs/dev"); !strings.Contains(reply, "locked by #"+itoa(holder.Number)) {
		t.Fatalf("a writer unlocked another PR's lock:\n%s", reply)
	}
	if reply := e.command(waiting.Number, "root", "/unlock -d envs/dev"); !strings.Contains(reply, "unlocked `envs/dev` (held by #"+itoa(holder.Number)+")") {
		t.Fatalf("admin unlock reply:\n%s", reply)
	}
	if reply := e.command(waiting.Number, "bob", "/plan"); !strings.Contains(reply, "The plan comment above is up to date") {
		t.Fatalf("/plan reply:\n%s", reply)
	}
	if body := planComment(t, gh, waiting.Number).Body; strings.Contains(strings.ToLower(body), "locked by") {
		t.Fatalf("still locked after the admin's /unlock:\n%s", body)
	}
	// Now the waiting PR holds the lock; it can release it itself.
	if reply := e.command(waiting.Number, "carol", "/unlock"); !strings.Contains(reply, "unlocked `envs/dev`") {
		t.Fatalf("own unlock reply:\n%s", reply)
	}
	if reply := e.command(waiting.Number, "carol", "/unlock"); !strings.Contains(reply, "nothing to unlock") {
		t.Fatalf("second unlock reply:\n%s", reply)
	}
}

// TestPlanCommandReplies checks /plan's reply names what happened.
func TestPlanCommandReplies(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("replies", "carol", map[string]string{"envs/dev/main.tf": rootTF("dev-replies"), "envs/prod/main.tf": rootTF("prod-replies")}, "success")
	if reply := e.command(pr.Number, "bob", "/plan -p staging"); !strings.Contains(reply, "could not plan") || !strings.Contains(reply, "`envs/dev`") {
		t.Errorf("/plan of an unknown project:\n%s", reply)
	}
	if st, _ := status(gh, pr.HeadSHA, "planbot/plan"); st != "success" {
		t.Errorf("a mistyped -p changed planbot/plan to %q", st)
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, "envs/dev", "envs/prod", "1 to add")
	if reply := e.command(pr.Number, "bob", "/plan -d envs/dev"); !strings.Contains(reply, "planned "+pr.HeadSHA[:7]) {
		t.Errorf("/plan -d:\n%s", reply)
	}
	// The comment still shows both projects after one was planned again.
	mustContain(t, planComment(t, gh, pr.Number).Body, "envs/dev", "envs/prod")
	e.close(pr.Number)
	if reply := e.command(pr.Number, "bob", "/plan"); !strings.Contains(reply, "closed") {
		t.Errorf("/plan on a closed PR:\n%s", reply)
	}
}
