// Package drifttest holds the fixture the drift tests share: one Terraform
// root, live/, whose state lives on a statetest server and was applied
// with terraform directly, as a team would have, so that the state holds
// terraform_data.input with the value "v1". A test then changes the state
// behind terraform's back (statetest.Server.SetDataInput) to make drift.
//
// The root is served either by a fake GitHub (Fake) or from a local git
// repository (LocalRepo). Test binaries that use it run terraform and so
// call sandbox.RunHelper in their TestMain.
package drifttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// Repo is the repository Fake serves.
const Repo = "acme/live"

// root returns the root's main.tf, its state on states under "live".
func root(states *statetest.Server) string {
	return states.Backend("live") + `
resource "terraform_data" "input" {
  input = "v1"
}
`
}

// Fake returns a fake GitHub with one installed repository, Repo, whose
// only root is live/, and applies the root.
func Fake(t *testing.T, states *statetest.Server) *githubfake.Server {
	t.Helper()
	gh := githubfake.New(t)
	tf := root(states)
	gh.CreateRepo(Repo, map[string]string{"live/main.tf": tf, "README.md": "# live\n"})
	gh.AddInstallation(1, Repo)
	statetest.Apply(t, map[string]string{"main.tf": tf})
	return gh
}

// LocalRepo makes a git repository, on branch main, whose root is its top
// directory, applies the root and returns the repository's directory.
func LocalRepo(t *testing.T, states *statetest.Server) string {
	t.Helper()
	tf := root(states)
	dir := filepath.Join(t.TempDir(), "live")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "live"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	statetest.Apply(t, map[string]string{"main.tf": tf})
	return dir
}
