package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
)

// shopConfig is the release configuration of the shop monorepo: staging
// merges automatically and promotes to production.
const shopConfig = `version: 1
release:
  products:
    - name: shop
      services:
        - name: api
          image: ghcr.io/acme/shop-api
        - name: worker
          image: ghcr.io/acme/shop-worker
  environments:
    - name: staging
      overlays: [k8s/overlays/staging]
      auto_merge: true
      promote_to: production
    - name: production
      overlays: [k8s/overlays/production]
`

func shopDeployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
        - name: %[1]s
          image: ghcr.io/acme/shop-%[1]s:latest
`, name)
}

func shopOverlay(ns string) string {
	return "namespace: " + ns + `
resources:
  - ../../base
images:
  - name: ghcr.io/acme/shop-api
    newTag: initial
  - name: ghcr.io/acme/shop-worker
    newTag: initial
`
}

// shopFiles is the monorepo: the shop's code, its manifests, and the
// production owner in CODEOWNERS.
func shopFiles() map[string]string {
	return map[string]string{
		".planbot.yaml":                              shopConfig,
		".github/CODEOWNERS":                         "* @alice\nk8s/overlays/production/ @pat\n",
		"api/main.go":                                "package main\n",
		"worker/main.go":                             "package main\n",
		"k8s/base/kustomization.yaml":                "resources:\n  - api.yaml\n  - worker.yaml\n",
		"k8s/base/api.yaml":                          shopDeployment("api"),
		"k8s/base/worker.yaml":                       shopDeployment("worker"),
		"k8s/overlays/staging/kustomization.yaml":    shopOverlay("staging"),
		"k8s/overlays/production/kustomization.yaml": shopOverlay("production"),
	}
}

func newShopFake(t *testing.T) *githubfake.Server {
	gh := githubfake.New(t)
	gh.CreateRepo(testRepo, shopFiles())
	gh.AddInstallation(1, testRepo)
	for _, u := range []string{"alice", "ana", "pat"} {
		gh.SetCollaborator(testRepo, u, "write")
	}
	return gh
}

// deliverEvents delivers the webhooks GitHub sent for what planbot wrote,
// in order, and waits for the jobs of those that are work.
func (e *testEnv) deliverEvents() {
	e.t.Helper()
	for _, ev := range e.gh.TakeEvents() {
		resp, id, err := e.gh.Deliver(context.Background(), e.url, testSecret, ev.Name, ev.Payload)
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusAccepted && strings.Contains(string(b), `"queued"`) {
			e.waitJob(id)
		}
	}
}

// auditLog returns the audit log of the server's store.
func (e *testEnv) auditLog() []audit.Entry {
	e.t.Helper()
	st := e.openDB()
	defer st.Close()
	entries, err := st.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

// TestReleaseMonorepo releases the api of the shop to staging with a tag
// push: one pull request that changes only the api's newTag, planned with
// the Deployment's image line, merged automatically; then its promotion to
// production, which /apply merges only once the production owner
// approved. The audit shows both releases.
func TestReleaseMonorepo(t *testing.T) {
	gh := newShopFake(t)
	e := startServer(t, gh, t.TempDir())

	sha := gh.Commit(testRepo, "main", map[string]string{"api/main.go": "package main // v2\n"}, nil, "api: v2")
	const tag = "shop/staging/2026/12/02/1030-ana-api"
	gh.CreateTag(testRepo, tag, sha, false, "ana")
	e.waitJob(e.deliver("push", gh.TagPushEvent(testRepo, tag, "ana"), http.StatusAccepted))

	staging := gh.PR(testRepo, 1)
	if staging.Author != gh.BotLogin() || staging.HeadRef != "planbot/release/staging/shop" || staging.State != "open" {
		t.Fatalf("release PR: %+v", staging)
	}
	got, _ := gh.FileAt(testRepo, staging.HeadSHA, "k8s/overlays/staging/kustomization.yaml")
	want := strings.Replace(shopOverlay("staging"), "newTag: initial", "newTag: "+sha, 1)
	if got != want {
		t.Errorf("staging overlay on the release branch:\n%s\nwant only the api's newTag changed:\n%s", got, want)
	}
	if prod, _ := gh.FileAt(testRepo, staging.HeadSHA, "k8s/overlays/production/kustomization.yaml"); prod != shopOverlay("production") {
		t.Errorf("the staging release changed production:\n%s", prod)
	}
	mustContain(t, staging.Title, "shop", "staging", "api")
	mustContain(t, staging.Body, "| image | from | to | who asked | when | trigger |", "`ghcr.io/acme/shop-api` | `initial` | `"+sha+"` | ana |", "tag "+tag)
	if st, _ := status(gh, sha, "planbot/release"); st != "success" {
		t.Errorf("planbot/release on the tagged commit = %q, want success", st)
	}

	// GitHub sends push and pull_request opened: planbot plans the PR and,
	// staging having auto_merge, merges it.
	e.deliverEvents()
	mustContain(t, planComment(t, gh, 1).Body, "ghcr.io/acme/shop-api:"+sha)
	if pr := gh.PR(testRepo, 1); !pr.Merged {
		t.Fatalf("the staging release was not merged automatically: %+v\n%v", pr, botComments(gh, 1))
	}

	// The merge's pull_request closed promotes the release to production.
	e.deliverEvents()
	prod := gh.PR(testRepo, 2)
	if prod.HeadRef != "planbot/release/production/shop" || prod.State != "open" {
		t.Fatalf("promotion PR: %+v", prod)
	}
	mustContain(t, prod.Body, "promoted from #1", "`"+sha+"`")
	if got, _ := gh.FileAt(testRepo, prod.HeadSHA, "k8s/overlays/production/kustomization.yaml"); got != strings.Replace(shopOverlay("production"), "newTag: initial", "newTag: "+sha, 1) {
		t.Errorf("production overlay on the promotion branch:\n%s", got)
	}
	e.deliverEvents()
	if got := waitStatus(t, gh, prod.HeadSHA, "planbot/plan"); got != "success" {
		t.Fatalf("promotion plan = %s", got)
	}
	if gh.PR(testRepo, 2).Merged {
		t.Fatal("production, without auto_merge, was merged")
	}
	reply := e.command(2, "alice", "/apply")
	wantRefused(t, reply, "@pat")
	gh.SubmitReview(testRepo, 2, "pat", "APPROVED", prod.HeadSHA)
	reply = e.command(2, "pat", "/apply")
	if !strings.Contains(reply, "merged") || !gh.PR(testRepo, 2).Merged {
		t.Fatalf("approved /apply did not merge:\n%s", reply)
	}

	var lines []string
	for _, en := range e.auditLog() {
		switch en.Action {
		case "release", "auto_merge", "merge":
			var approvers []string
			for _, a := range en.Approvers {
				approvers = append(approvers, a.Login)
			}
			lines = append(lines, fmt.Sprintf("#%d %s %s %s by %s approved by %v: %s", en.PR, en.Action, en.Outcome, "", en.Actor, approvers, en.Detail))
		}
	}
	log := strings.Join(lines, "\n")
	t.Logf("audit:\n%s\nbody of #2:\n%s", log, prod.Body)
	mustContain(t, log,
		"#1 release opened  by ana approved by []: tag "+tag+" to staging: ghcr.io/acme/shop-api:"+sha,
		"#1 auto_merge started  by ana approved by []: no approval required by config",
		"#1 merge merged  by ana",
		"#2 release opened  by ana approved by []: promotion #1 to production: ghcr.io/acme/shop-api:"+sha+"; promoted from #1",
		"#2 merge merged  by pat approved by [pat]",
	)
}

// TestReleaseBadTags pushes tags that are no release of the repository:
// each leaves it untouched and says why on the tagged commit.
func TestReleaseBadTags(t *testing.T) {
	gh := newShopFake(t)
	e := startServer(t, gh, t.TempDir())
	main := gh.Branch(testRepo, "main")
	for _, tc := range []struct{ tag, reason string }{
		{"v1.0.0", "does not match the pattern"},
		{"shop/staging/2026/12/02/1030-ana-cron", `product shop has no service "cron"`},
		{"shop/qa/2026/12/02/1030-ana", `unknown environment "qa"`},
		{"cart/staging/2026/12/02/1030-ana", `unknown product "cart"`},
		{"shop/staging/2026/02/30/1030-ana", "2026-02-30 is not a date"},
	} {
		gh.CreateTag(testRepo, tc.tag, main, true, "ana")
		e.waitJob(e.deliver("push", gh.TagPushEvent(testRepo, tc.tag, "ana"), http.StatusAccepted))
		var found bool
		for _, c := range gh.CommitComments(testRepo, main) {
			if strings.Contains(c.Body, "`"+tc.tag+"`") && strings.Contains(c.Body, tc.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("tag %s: no commit comment saying %q: %+v", tc.tag, tc.reason, gh.CommitComments(testRepo, main))
		}
	}
	if st, desc := status(gh, main, "planbot/release"); st != "failure" || !strings.Contains(desc, "not released") {
		t.Errorf("planbot/release = %s %q, want failure", st, desc)
	}
	if got := gh.Branch(testRepo, "main"); got != main {
		t.Errorf("main moved to %s", got)
	}
	for _, r := range gh.Requests() {
		if (r.Method == http.MethodPost && (strings.HasSuffix(r.Path, "/pulls") || strings.Contains(r.Path, "/git/"))) || r.Method == http.MethodPatch {
			t.Errorf("a refused tag wrote %s %s", r.Method, r.Path)
		}
	}
}

// TestReleaseUnchanged releases a tag whose image the overlay already
// has: no pull request, and the commit says so.
func TestReleaseUnchanged(t *testing.T) {
	gh := newShopFake(t)
	e := startServer(t, gh, t.TempDir())
	first := gh.Branch(testRepo, "main")
	gh.Commit(testRepo, "main", map[string]string{"k8s/overlays/staging/kustomization.yaml": strings.Replace(shopOverlay("staging"), "newTag: initial", "newTag: "+first, 1)}, nil, "pin api")
	const tag = "shop/staging/2026/12/02/1100-ci-api"
	gh.CreateTag(testRepo, tag, first, false, "ci")
	e.waitJob(e.deliver("push", gh.TagPushEvent(testRepo, tag, "ci"), http.StatusAccepted))
	if cs := gh.CommitComments(testRepo, first); len(cs) != 1 || !strings.Contains(cs[0].Body, "already have these images") {
		t.Errorf("commit comments = %+v, want one saying nothing changed", cs)
	}
	for _, r := range gh.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/pulls") {
			t.Errorf("an unchanged release opened a pull request")
		}
	}
}

// TestReleaseRollbackAndPromoteCommand releases two commits of the api to
// staging, then the older one again, which the PR calls a rollback; then
// /promote production opens the promotion of the first release by hand,
// for people with write access only.
func TestReleaseRollbackAndPromoteCommand(t *testing.T) {
	gh := githubfake.New(t)
	files := shopFiles()
	files[".planbot.yaml"] = strings.Replace(shopConfig, "      promote_to: production\n", "", 1)
	gh.CreateRepo(testRepo, files)
	gh.AddInstallation(1, testRepo)
	gh.SetCollaborator(testRepo, "alice", "write")
	gh.SetCollaborator(testRepo, "rita", "read")
	e := startServer(t, gh, t.TempDir())

	release := func(tag, sha string) githubfake.PR {
		t.Helper()
		gh.CreateTag(testRepo, tag, sha, false, "alice")
		e.waitJob(e.deliver("push", gh.TagPushEvent(testRepo, tag, "alice"), http.StatusAccepted))
		e.deliverEvents() // opened: planned and merged
		e.deliverEvents() // closed and the push of main: nothing to promote
		var pr githubfake.PR
		for n := 1; ; n++ {
			p := gh.PR(testRepo, n)
			if p.Title != "" && strings.Contains(p.Body, tag) {
				pr = p
				break
			}
		}
		if !pr.Merged {
			t.Fatalf("release of %s not merged: %+v", tag, pr)
		}
		return pr
	}
	a := gh.Commit(testRepo, "main", map[string]string{"api/main.go": "package main // a\n"}, nil, "api: a")
	b := gh.Commit(testRepo, "main", map[string]string{"api/main.go": "package main // b\n"}, nil, "api: b")
	first := release("shop/staging/2026/12/02/1030-alice-api", a)
	second := release("shop/staging/2026/12/02/1031-alice-api", b)
	if strings.Contains(second.Title, "Roll back") || strings.Contains(second.Body, "Rollback") {
		t.Errorf("a release to a newer commit says rollback: %s\n%s", second.Title, second.Body)
	}
	back := release("shop/staging/2026/12/02/1032-alice-api", a)
	if !strings.HasPrefix(back.Title, "Roll back shop to staging") || !strings.Contains(back.Body, "**Rollback**") {
		t.Errorf("the release of the older commit does not say rollback: %s\n%s", back.Title, back.Body)
	}
	mustContain(t, back.Body, "| `"+b+"` | `"+a+"` |")

	if reply := e.command(first.Number, "rita", "/promote production"); !strings.Contains(reply, "needs write access") {
		t.Fatalf("read-only /promote reply:\n%s", reply)
	}
	reply := e.command(first.Number, "alice", "/promote production")
	if !strings.Contains(reply, "opened #") {
		t.Fatalf("/promote reply:\n%s", reply)
	}
	var prod githubfake.PR
	for n := back.Number + 1; prod.Title == ""; n++ {
		prod = gh.PR(testRepo, n)
	}
	if prod.HeadRef != "planbot/release/production/shop" || prod.State != "open" {
		t.Fatalf("promotion: %+v", prod)
	}
	mustContain(t, prod.Body, "promoted from #"+itoa(first.Number), "`"+a+"` | alice |")
	if reply := e.command(prod.Number, "alice", "/promote staging"); !strings.Contains(reply, "once the release is merged") {
		t.Errorf("/promote of an open PR:\n%s", reply)
	}
	// A description edited after the fact promotes nothing.
	gh.EditPRBody(testRepo, second.Number, strings.ReplaceAll(second.Body, b, strings.Repeat("e", 40)))
	if reply := e.command(second.Number, "alice", "/promote production"); !strings.Contains(reply, "does not match the release planbot recorded") {
		t.Errorf("/promote of an edited release:\n%s", reply)
	}
}

// TestReleaseFromAppRepo pushes a release tag to an application
// repository whose .planbot.yaml names the manifests repository: the pull
// request opens there. A repository the manifests repository does not
// allow is refused on its tagged commit.
func TestReleaseFromAppRepo(t *testing.T) {
	gh := githubfake.New(t)
	files := shopFiles()
	files[".planbot.yaml"] = strings.Replace(shopConfig, "release:\n", "release:\n  allowed_repos: [acme/shop-app]\n", 1)
	gh.CreateRepo(testRepo, files)
	pointer := map[string]string{".planbot.yaml": "version: 1\nrelease:\n  manifests_repo: " + testRepo + "\n", "main.go": "package main\n"}
	gh.CreateRepo("acme/shop-app", pointer)
	gh.CreateRepo("acme/other", pointer)
	gh.AddInstallation(1, testRepo, "acme/shop-app", "acme/other")
	e := startServer(t, gh, t.TempDir())

	sha := gh.Commit("acme/shop-app", "main", map[string]string{"main.go": "package main // v2\n"}, nil, "v2")
	const tag = "shop/staging/2026/12/02/1200-ci-worker"
	gh.CreateTag("acme/shop-app", tag, sha, true, "ci")
	e.waitJob(e.deliver("push", gh.TagPushEvent("acme/shop-app", tag, "ci"), http.StatusAccepted))
	pr := gh.PR(testRepo, 1)
	got, _ := gh.FileAt(testRepo, pr.HeadSHA, "k8s/overlays/staging/kustomization.yaml")
	if want := strings.Replace(shopOverlay("staging"), "shop-worker\n    newTag: initial", "shop-worker\n    newTag: "+sha, 1); got != want {
		t.Errorf("overlay:\n%s\nwant only the worker's newTag changed:\n%s", got, want)
	}
	mustContain(t, pr.Body, "tag "+tag+" in acme/shop-app")
	for _, s := range gh.Statuses("acme/shop-app", sha) {
		if s.Context == "planbot/release" && s.State != "success" {
			t.Errorf("planbot/release on the app's commit = %s", s.State)
		}
	}

	other := gh.Branch("acme/other", "main")
	gh.CreateTag("acme/other", tag, other, false, "mallory")
	e.waitJob(e.deliver("push", gh.TagPushEvent("acme/other", tag, "mallory"), http.StatusAccepted))
	cs := gh.CommitComments("acme/other", other)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "acme/other may not release into "+testRepo) {
		t.Errorf("comments on acme/other's commit: %+v", cs)
	}
	if pulls := pullsOpened(gh); pulls != 1 {
		t.Errorf("%d pull requests opened, want 1", pulls)
	}
}

// TestReleaseAutoMergeOnlyPlanbotsCommit pushes to a staging release
// branch before its plan: the pull request is not merged without
// approval, and says why.
func TestReleaseAutoMergeOnlyPlanbotsCommit(t *testing.T) {
	gh := newShopFake(t)
	e := startServer(t, gh, t.TempDir())
	const tag = "shop/staging/2026/12/02/1300-ana-api"
	gh.CreateTag(testRepo, tag, "main", false, "ana")
	e.waitJob(e.deliver("push", gh.TagPushEvent(testRepo, tag, "ana"), http.StatusAccepted))
	pushed := gh.Commit(testRepo, "planbot/release/staging/shop", map[string]string{"k8s/overlays/staging/kustomization.yaml": shopOverlay("staging") + "replicas:\n  - name: api\n    count: 9\n"}, nil, "sneak a change in")
	e.deliverEvents()
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, 1), http.StatusAccepted))
	if got := waitStatus(t, gh, pushed, "planbot/plan"); got != "success" {
		t.Fatalf("plan of the pushed head = %s", got)
	}
	if gh.PR(testRepo, 1).Merged {
		t.Fatal("a release branch someone pushed to was merged without approval")
	}
	said := 0
	for _, c := range botComments(gh, 1) {
		if strings.Contains(c.Body, "not the commit planbot made for the release") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("%d comments say why it was not merged, want 1: %+v", said, botComments(gh, 1))
	}
}
