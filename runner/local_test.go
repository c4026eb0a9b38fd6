package runner

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/treetest"
)

func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestLocalDeletedRoot previews a change that deletes a root without
// state: the destroy is planned from the base's copy and destroys
// nothing.
func TestLocalDeletedRoot(t *testing.T) {
	bin, err := terraform.FindBinary(context.Background(), "")
	if err != nil {
		t.Fatalf("terraform is required for this test: %v", err)
	}
	repo := treetest.New(t, map[string]string{
		"envs/old/main.tf": "resource \"terraform_data\" \"a\" {}\n",
		"envs/dev/main.tf": "resource \"terraform_data\" \"d\" {}\n",
	})
	gitT(t, repo, "init", "-q", "-b", "main")
	gitT(t, repo, "add", "-A")
	gitT(t, repo, "commit", "-q", "-m", "base")
	gitT(t, repo, "checkout", "-q", "-b", "drop")
	gitT(t, repo, "rm", "-q", "envs/old/main.tf")
	gitT(t, repo, "commit", "-q", "-m", "drop old")

	l := &Local{Terraform: &terraform.Runner{Bin: bin.Path, Engine: bin.Engine}, Parallelism: 1}
	parts, err := l.Plan(context.Background(), LocalRequest{RepoDir: repo, Base: "main", Head: "drop", WorkDir: filepath.Join(t.TempDir(), "work")})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Join(parts, "\n")
	if !strings.Contains(body, "`envs/old` is deleted by this pull request, and its state holds no resources: nothing is destroyed") {
		t.Errorf("comment does not say that nothing is destroyed:\n%s", body)
	}
}
