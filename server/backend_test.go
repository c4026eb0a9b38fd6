package server

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// liveTF is a root with three resources whose state is the state called
// name on states.
func liveTF(states *statetest.Server, name, a, b string, withC bool) string {
	s := states.Backend(name) + `
resource "terraform_data" "a" {
  input = "` + a + `"
}

resource "terraform_data" "b" {
  input            = "b"
  triggers_replace = "` + b + `"
}
`
	if withC {
		s += `
resource "terraform_data" "c" {
  input = "c"
}
`
	}
	return s
}

// startLive starts eng's server with a state server and seeds the root
// envs/NAME with liveTF(states, name, a, b, withC), checking that its
// state then holds the root's resources.
func startLive(t *testing.T, eng testEngine, name, a, b string, withC bool) (*githubfake.Server, *statetest.Server, *testEnv) {
	t.Helper()
	gh := newFake(t)
	states := statetest.New(t)
	e := eng.start(t, gh, t.TempDir())
	eng.seed(t, e, "envs/"+name, map[string]string{"envs/" + name + "/main.tf": liveTF(states, name, a, b, withC)})
	want := []string{"terraform_data.a", "terraform_data.b"}
	if withC {
		want = append(want, "terraform_data.c")
	}
	if diff := cmp.Diff(states.Resources(name), want); diff != "" {
		t.Fatalf("seeded state (-got +want):\n%s", diff)
	}
	return gh, states, e
}

// seedRootWith commits files to main and applies the root dir directly
// with the binary bin, as a team would have before planbot: the state
// server then holds the root's resources. bin is a path, or a name on
// PATH.
func seedRootWith(t *testing.T, e *testEnv, bin, dir string, files map[string]string) {
	t.Helper()
	e.gh.Commit(testRepo, "main", files, nil, "add "+dir)
	root := map[string]string{}
	for name, body := range files {
		if rel, err := filepath.Rel(dir, name); err == nil && !strings.HasPrefix(rel, "..") {
			root[rel] = body
		}
	}
	statetest.ApplyWith(t, bin, root)
}

// outsideDetails returns body without its collapsed <details> blocks:
// what a reviewer sees without expanding anything.
func outsideDetails(body string) string {
	return regexp.MustCompile(`(?s)<details>.*?</details>`).ReplaceAllString(body, "")
}

// TestHTTPBackendState plans roots whose state is in terraform's http
// backend, which has no workspaces.
func TestHTTPBackendState(t *testing.T) { forEachEngine(t, testHTTPBackendState) }

func testHTTPBackendState(t *testing.T, eng testEngine) {
	gh, states, e := startLive(t, eng, "live", "a1", "b1", true)

	t.Run("change one resource", func(t *testing.T) {
		pr := e.openPlanned("live-change", "carol", map[string]string{"envs/live/main.tf": liveTF(states, "live", "a2", "b1", true)}, "success")
		body := planComment(t, gh, pr.Number).Body
		mustContain(t, body, "envs/live", "Plan: 0 to add, 1 to change, 0 to destroy.")
		eng.wantNamed(t, body)
		e.close(pr.Number)
	})

	t.Run("remove one, replace another", func(t *testing.T) {
		pr := e.openPlanned("live-risk", "carol", map[string]string{"envs/live/main.tf": liveTF(states, "live", "a1", "b2", false)}, "success")
		body := planComment(t, gh, pr.Number).Body
		visible := outsideDetails(body)
		for _, want := range []string{"`terraform_data.c`", "`terraform_data.b`", "destroy", "replace"} {
			if !strings.Contains(strings.ToLower(visible), strings.ToLower(want)) {
				t.Errorf("outside <details>, the comment lacks %q:\n%s", want, visible)
			}
		}
		// The table counts as terraform's Plan line does.
		mustContain(t, visible, "`Plan: 1 to add, 0 to change, 2 to destroy.`", "| 1 | 0 | 2 | 1 |")
		e.close(pr.Number)
	})
}

// openDeleting opens a PR that deletes files and waits for its plan,
// which must have the given outcome.
func (e *testEnv) openDeleting(branch, author string, deletes []string, want string) githubfake.PR {
	e.t.Helper()
	sha := e.gh.Commit(testRepo, branch, nil, deletes, "delete "+branch)
	return e.openCommitted(branch, author, "Delete "+branch, sha, want)
}

// auditEntries returns the audit log of PR n.
func (e *testEnv) auditEntries(n int) []audit.Entry {
	e.t.Helper()
	code, out, stderr := e.runAudit("--json", "--pr", itoa(n))
	if code != 0 {
		e.t.Fatalf("planbot audit --json: exit %d: %s", code, stderr)
	}
	var entries []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var en audit.Entry
		if err := json.Unmarshal([]byte(line), &en); err != nil {
			e.t.Fatalf("bad JSON line %q: %v", line, err)
		}
		entries = append(entries, en)
	}
	return entries
}

// TestDeleteRoot deletes Terraform roots whose state is in the http
// backend: a destroy through the normal gate, or nothing at all when the
// state is empty.
func TestDeleteRoot(t *testing.T) { forEachEngine(t, testDeleteRoot) }

func testDeleteRoot(t *testing.T, eng testEngine) {
	gh, states, e := startLive(t, eng, "old", "a", "b", false)
	// envs/empty was never applied: its state server has nothing.
	gh.Commit(testRepo, "main", map[string]string{"envs/empty/main.tf": liveTF(states, "empty", "a", "b", false)}, nil, "add envs/empty")
	both := []string{"terraform_data.a", "terraform_data.b"}

	t.Run("state holds resources", func(t *testing.T) {
		pr := e.openDeleting("drop-old", "carol", []string{"envs/old/main.tf"}, "success")
		visible := outsideDetails(planComment(t, gh, pr.Number).Body)
		mustContain(t, visible, "`envs/old` is deleted by this pull request: destroys 2 resources", "`terraform_data.a`", "`terraform_data.b`", "**Destroys**")

		reply := e.command(pr.Number, "bob", "/apply")
		wantRefused(t, reply, "@acme/platform")
		if diff := cmp.Diff(states.Resources("old"), both); diff != "" {
			t.Fatalf("a refused /apply changed the state (-got +want):\n%s", diff)
		}

		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
		reply = e.command(pr.Number, "bob", "/apply")
		if !strings.Contains(reply, "applied `envs/old`") || !strings.Contains(reply, "merged") {
			t.Fatalf("apply reply:\n%s", reply)
		}
		if got := states.Resources("old"); len(got) != 0 {
			t.Errorf("state still holds %v after the destroy", got)
		}
		eng.wantWriter(t, states, "old")
		if !gh.PR(testRepo, pr.Number).Merged {
			t.Error("PR not merged after the destroy")
		}
		var destroyed bool
		for _, en := range e.auditEntries(pr.Number) {
			if en.Action == audit.ActionApply && en.Project == "envs/old" && en.Outcome == "applied" && strings.Contains(en.Detail, "destroy") && en.Actor == "bob" && len(en.Approvers) == 1 {
				destroyed = true
			}
		}
		if !destroyed {
			t.Errorf("the audit log has no destroy of envs/old: %+v", e.auditEntries(pr.Number))
		}
	})

	t.Run("moved root", func(t *testing.T) {
		files := map[string]string{"envs/moving/main.tf": liveTF(states, "moving", "a", "b", false)}
		eng.seed(t, e, "envs/moving", files)
		sha := gh.Commit(testRepo, "move", map[string]string{"live/moving/main.tf": files["envs/moving/main.tf"]}, []string{"envs/moving/main.tf"}, "move the root")
		pr := e.openCommitted("move", "carol", "Move a root", sha, "success")
		body := planComment(t, gh, pr.Number).Body
		mustContain(t, body, "looks like a move", "live/moving", "no changes")
		if strings.Contains(body, "destroys") {
			t.Errorf("a moved root is planned as a destroy:\n%s", body)
		}
		e.close(pr.Number)
	})

	t.Run("unreachable state blocks the merge", func(t *testing.T) {
		gh.Commit(testRepo, "main", map[string]string{"envs/lost/main.tf": "terraform {\n  backend \"http\" {\n    address = \"http://127.0.0.1:1/state/lost\"\n  }\n}\n"}, nil, "add envs/lost")
		pr := e.openDeleting("drop-lost", "carol", []string{"envs/lost/main.tf"}, "failure")
		mustContain(t, planComment(t, gh, pr.Number).Body, "could not be planned for destruction")
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
		wantRefused(t, e.command(pr.Number, "bob", "/apply"), "envs/lost", "failed")
		if gh.PR(testRepo, pr.Number).Merged {
			t.Error("a PR whose destroy could not be planned was merged")
		}
		e.close(pr.Number)
	})

	t.Run("empty state", func(t *testing.T) {
		pr := e.openDeleting("drop-empty", "carol", []string{"envs/empty/main.tf"}, "success")
		mustContain(t, planComment(t, gh, pr.Number).Body, "`envs/empty` is deleted by this pull request, and its state holds no resources: nothing is destroyed, and it needs no apply.")
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
		reply := e.command(pr.Number, "bob", "/apply")
		if !strings.Contains(reply, "merged") || strings.Contains(reply, "applied `envs/empty`") {
			t.Fatalf("apply reply:\n%s", reply)
		}
		for _, en := range e.auditEntries(pr.Number) {
			if en.Action == audit.ActionApply || (en.Action == audit.ActionApplyRequested && en.Detail != "merge") {
				t.Errorf("an empty state was applied: %+v", en)
			}
		}
		if n := states.Writes("empty"); n != 0 {
			t.Errorf("terraform wrote the empty state %d times", n)
		}
	})
}
