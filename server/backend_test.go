package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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

// seedRoot commits files to main and applies the root dir with terraform
// directly, as a team would have before planbot: the state server then
// holds the root's resources.
func seedRoot(t *testing.T, e *testEnv, dir string, files map[string]string) {
	t.Helper()
	e.gh.Commit(testRepo, "main", files, nil, "add "+dir)
	work := t.TempDir()
	for name, body := range files {
		rel, err := filepath.Rel(dir, name)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if err := os.WriteFile(filepath.Join(work, rel), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-input=false"}, {"apply", "-input=false", "-auto-approve"}} {
		cmd := exec.CommandContext(context.Background(), "terraform", args...)
		cmd.Dir = work
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s in %s: %v\n%s", args[0], dir, err, out)
		}
	}
}

// outsideDetails returns body without its collapsed <details> blocks:
// what a reviewer sees without expanding anything.
func outsideDetails(body string) string {
	return regexp.MustCompile(`(?s)<details>.*?</details>`).ReplaceAllString(body, "")
}

// TestHTTPBackendState plans roots whose state is in terraform's http
// backend, which has no workspaces.
func TestHTTPBackendState(t *testing.T) {
	gh := newFake(t)
	states := statetest.New(t)
	e := startServer(t, gh, t.TempDir())
	seedRoot(t, e, "envs/live", map[string]string{"envs/live/main.tf": liveTF(states, "live", "a1", "b1", true)})
	if diff := cmp.Diff(states.Resources("live"), []string{"terraform_data.a", "terraform_data.b", "terraform_data.c"}); diff != "" {
		t.Fatalf("seeded state (-got +want):\n%s", diff)
	}

	t.Run("change one resource", func(t *testing.T) {
		pr := e.openPlanned("live-change", "carol", map[string]string{"envs/live/main.tf": liveTF(states, "live", "a2", "b1", true)}, "success")
		body := planComment(t, gh, pr.Number).Body
		mustContain(t, body, "envs/live", "Plan: 0 to add, 1 to change, 0 to destroy.")
		e.close(pr.Number)
	})
}
