package server

import (
	"net/http"
	"strings"
	"testing"
)

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
