package server

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// dumpDB returns every text and blob value of every table of the server's
// SQLite database.
func (e *testEnv) dumpDB() string {
	e.t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dataDir, "planbot.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	var b strings.Builder
	for _, n := range names {
		rows, err := db.Query(fmt.Sprintf("SELECT * FROM %q", n))
		if err != nil {
			e.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				fmt.Fprintf(&b, "%s\t", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

// TestManifestDiff plans Kustomize overlays through the GitHub fake: a base
// change shows in both overlays, a Secret change names only the key, and
// the Secret's value appears in no comment, log line or database row.
func TestManifestDiff(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())

	pr := e.openPlanned("scale", "carol", map[string]string{"k8s/base/deployment.yaml": deployment(5)}, "success")
	c := planComment(t, gh, pr.Number)
	mustContain(t, c.Body, "k8s/overlays/staging", "k8s/overlays/prod", "Deployment", "-  replicas: 2", "+  replicas: 5")
	if strings.Contains(c.Body, "k8s/base`") {
		t.Errorf("the base was planned as a project of its own:\n%s", c.Body)
	}
	e.close(pr.Number)

	newSecret := "rotated-" + secretLiteral
	kust := strings.Replace(infraFiles()["k8s/base/kustomization.yaml"], secretLiteral, newSecret, 1)
	pr = e.openPlanned("rotate", "carol", map[string]string{"k8s/base/kustomization.yaml": kust}, "success")
	c = planComment(t, gh, pr.Number)
	mustContain(t, c.Body, "password", "(changed)")

	var written strings.Builder
	for _, n := range []int{pr.Number - 1, pr.Number} {
		for _, w := range gh.CommentHistory(testRepo, n) {
			written.WriteString(w.Body)
		}
	}
	for name, text := range map[string]string{"comments": written.String(), "logs": e.logs.String(), "database": e.dumpDB()} {
		for _, secret := range []string{secretLiteral, newSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("the Secret value %q appears in the %s", secret, name)
			}
		}
	}
}

// TestManifestRefusals shows kustomize's guard rails as clear errors in
// the comment: no escapes out of the repository, no exec plugins, no
// remote bases.
func TestManifestRefusals(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{name: "escape", files: map[string]string{"k8s/overlays/staging/kustomization.yaml": "resources:\n  - ../../../../etc\n"}, want: "escapes the workspace root"},
		{name: "remote", files: map[string]string{"k8s/overlays/staging/kustomization.yaml": "resources:\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6\n"}, want: "remote bases are not allowed"},
		{name: "exec", files: map[string]string{
			"k8s/overlays/staging/kustomization.yaml": "resources:\n  - ../../base\ngenerators:\n  - gen.yaml\n",
			"k8s/overlays/staging/gen.yaml":           "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: gen\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n",
		}, want: "function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := e.openPlanned("refuse-"+tt.name, "carol", tt.files, "failure")
			c := planComment(t, gh, pr.Number)
			mustContain(t, c.Body, "k8s/overlays/staging", tt.want)
			e.close(pr.Number)
		})
	}
}

// TestManifestApplyIsTheMerge applies a manifest-only PR: nothing runs,
// and planbot merges once an owner of k8s/ approved.
func TestManifestApplyIsTheMerge(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("manifests", "carol", map[string]string{"k8s/base/deployment.yaml": deployment(4)}, "success")
	mustContain(t, planComment(t, gh, pr.Number).Body, "one of `@acme/sre`, `@bob` for `k8s/base/deployment.yaml`")

	if reply := e.command(pr.Number, "carol", "/apply"); !strings.Contains(reply, "apply refused") || !strings.Contains(reply, "@bob") {
		t.Fatalf("unapproved manifest apply:\n%s", reply)
	}
	gh.SubmitReview(testRepo, pr.Number, "bob", "APPROVED", pr.HeadSHA)
	reply := e.command(pr.Number, "carol", "/apply")
	if !strings.Contains(reply, "merged") || strings.Contains(reply, "applied `") {
		t.Fatalf("manifest apply reply (want a merge and no terraform apply):\n%s", reply)
	}
	if !gh.PR(testRepo, pr.Number).Merged {
		t.Fatal("the manifest PR was not merged")
	}
}

// TestPrerenderOnPush pushes to the default branch, which renders its
// Kustomize overlays into the render cache, and then creates a branch,
// which renders the heads of the overlays it changes: the plan of the pull
// request opened from that branch finds both sides in the cache and renders
// nothing.
func TestPrerenderOnPush(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())

	before := gh.Branch(testRepo, "main")
	gh.Commit(testRepo, "main", map[string]string{"k8s/base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  LOG_LEVEL: debug\n"}, nil, "debug logs")
	e.waitJob(e.deliver("push", gh.PushEvent(testRepo, "main", before, "alice"), http.StatusAccepted))
	hits, misses := renders(e.logs.String())
	if hits != 0 || misses != 2 {
		t.Fatalf("the push rendered %d overlays (%d from the cache), want the 2 overlays of main", misses, hits)
	}

	// A push that creates a branch renders the heads of the overlays it
	// changes, both of them here.
	mark := len(e.logs.String())
	gh.Commit(testRepo, "scale-web", map[string]string{"k8s/base/deployment.yaml": deployment(5)}, nil, "scale web")
	e.waitJob(e.deliver("push", gh.PushEvent(testRepo, "scale-web", "", "alice"), http.StatusAccepted))
	if hits, misses = renders(e.logs.String()[mark:]); hits != 0 || misses != 2 {
		t.Fatalf("the push of a new branch rendered %d overlays (%d from the cache), want its 2 heads", misses, hits)
	}

	mark = len(e.logs.String())
	pr := gh.OpenPR(testRepo, "scale-web", "main", "carol", "Scale web")
	e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)
	if got := waitStatus(t, gh, pr.HeadSHA, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	mustContain(t, planComment(t, gh, pr.Number).Body, "k8s/overlays/staging", "k8s/overlays/prod", "replicas")
	if hits, misses = renders(e.logs.String()[mark:]); hits != 4 || misses != 0 {
		t.Errorf("the plan rendered %d overlays and found %d in the cache, want 0 and 4 (both sides of both)", misses, hits)
	}

	// A branch that changes no overlay renders nothing.
	mark = len(e.logs.String())
	gh.Commit(testRepo, "docs-only", map[string]string{"docs/notes.md": "notes\n"}, nil, "notes")
	e.waitJob(e.deliver("push", gh.PushEvent(testRepo, "docs-only", "", "alice"), http.StatusAccepted))
	if hits, misses = renders(e.logs.String()[mark:]); hits+misses != 0 {
		t.Errorf("a branch that changes no overlay built %d overlays", hits+misses)
	}
	if !prefetchCheckout(e.logs.String()[mark:]) {
		t.Error("a branch of a repository with overlays was not checked out to look for them")
	}

	// In a repository without a kustomization, a new branch is not even
	// checked out.
	const tfOnly = "acme/terraform"
	gh.CreateRepo(tfOnly, map[string]string{"envs/dev/main.tf": rootTF("dev")})
	gh.AddInstallation(1, tfOnly)
	before = gh.Branch(tfOnly, "main")
	gh.Commit(tfOnly, "main", map[string]string{"envs/prod/main.tf": rootTF("prod")}, nil, "prod")
	e.waitJob(e.deliver("push", gh.PushEvent(tfOnly, "main", before, "alice"), http.StatusAccepted))
	mark = len(e.logs.String())
	gh.Commit(tfOnly, "change", map[string]string{"envs/dev/main.tf": rootTF("dev-2")}, nil, "change dev")
	e.waitJob(e.deliver("push", gh.PushEvent(tfOnly, "change", "", "alice"), http.StatusAccepted))
	if prefetchCheckout(e.logs.String()[mark:]) {
		t.Error("a new branch of a repository without a kustomization was checked out")
	}
}

// prefetchCheckout reports whether a server log shows a checkout written
// to look for the overlays of a new branch.
func prefetchCheckout(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="workspace written"`) && strings.Contains(line, "_prefetch") {
			return true
		}
	}
	return false
}

// renders counts the Kustomize builds in a server log that found their
// result in the render cache and those that rendered.
func renders(log string) (hits, misses int) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="kustomize build"`) {
			continue
		}
		if strings.Contains(line, "cache_hit=true") {
			hits++
		} else {
			misses++
		}
	}
	return hits, misses
}
