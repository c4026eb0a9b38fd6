package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestRepoConfig drives .planbot.yaml from the base branch: an invalid file
// is reported with its line and nothing is planned; declared projects
// replace autodetection; /help explains the rules.
func TestRepoConfig(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())

	gh.Commit(testRepo, "main", map[string]string{".planbot.yaml": "version: 1\nautomerge: true\nmerge_method: fastforward\n"}, nil, "bad config")
	pr := e.openPlanned("bad-config", "carol", devChange("dev-cfg"), "failure")
	c := planComment(t, gh, pr.Number)
	mustContain(t, c.Body, ".planbot.yaml:3", "merge_method")
	if strings.Contains(c.Body, "1 to add") {
		t.Errorf("a PR was planned under an invalid config:\n%s", c.Body)
	}
	e.close(pr.Number)

	// A PR cannot fix the config it is judged by: the head's file is
	// ignored.
	pr = e.openPlanned("fix-in-pr", "carol", map[string]string{".planbot.yaml": "version: 1\n", "envs/dev/main.tf": rootTF("dev-fix")}, "failure")
	mustContain(t, planComment(t, gh, pr.Number).Body, ".planbot.yaml:3")
	e.close(pr.Number)

	gh.Commit(testRepo, "main", map[string]string{".planbot.yaml": `version: 1
merge_method: squash
apply_requirements: [mergeable]
projects:
  - name: staging-app
    dir: envs/dev
    autoplan:
      when_modified: ["*.tf", "../../modules/app/*.tf"]
`}, nil, "declare projects")
	pr = e.openPlanned("declared", "carol", map[string]string{"envs/dev/main.tf": rootTF("dev-decl"), "envs/prod/main.tf": rootTF("prod-decl")}, "success")
	c = planComment(t, gh, pr.Number)
	mustContain(t, c.Body, "staging-app", "1 to add")
	if strings.Contains(c.Body, "| `envs/prod`") {
		t.Errorf("an undeclared project was planned:\n%s", c.Body)
	}
	help := e.command(pr.Number, "bob", "/help")
	mustContain(t, help, "/apply", "`staging-app`", "squash", "mergeable")

	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	gh.SubmitReview(testRepo, pr.Number, "alice", "APPROVED", pr.HeadSHA)
	reply := e.command(pr.Number, "bob", "/apply -p staging-app")
	if !strings.Contains(reply, "merged") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	var method any
	for _, m := range mergeRequests(gh, pr.Number) {
		method = m["merge_method"]
	}
	if method != "squash" {
		t.Errorf("merge_method = %v, want squash from .planbot.yaml", method)
	}
}

// TestForkPRsAreNotPlanned checks that a PR from a fork gets one
// explanation and no plan.
func TestForkPRsAreNotPlanned(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	gh.Fork(testRepo, "mallory")
	sha := gh.Commit("mallory/infra", "evil", devChange("dev-evil"), nil, "evil")
	pr := gh.OpenPR(testRepo, "mallory:evil", "main", "mallory", "Innocent change")
	for _, action := range []string{"opened", "synchronize"} {
		e.waitJob(e.deliver("pull_request", gh.PullRequestEvent(action, testRepo, pr.Number), http.StatusAccepted))
	}
	cs := botComments(gh, pr.Number)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "forks") {
		t.Fatalf("want one explanation about forks, got %d comments: %+v", len(cs), cs)
	}
	if st, _ := status(gh, sha, "planbot/plan"); st == "success" {
		t.Error("a fork PR was planned")
	}
}
