package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/terraform/statetest"
)

// mixedConfig declares envs/dev as an OpenTofu project and envs/prod as a
// Terraform one, in one repository.
const mixedConfig = `version: 1
projects:
  - dir: envs/dev
    engine: tofu
  - dir: envs/prod
    engine: terraform
`

// TestEnginePerProject plans and applies one pull request that changes an
// OpenTofu project and a Terraform project: each is planned and applied
// by its own binary (the state each one writes carries that binary's
// version), and only the OpenTofu one is named so.
func TestEnginePerProject(t *testing.T) {
	tf := testEngine{engine: planbot.EngineTerraform}
	tofu := testEngine{engine: planbot.EngineOpenTofu}
	gh := newFake(t)
	states := statetest.New(t)
	e := startServer(t, gh, t.TempDir())
	gh.Commit(testRepo, "main", map[string]string{".planbot.yaml": mixedConfig}, nil, "one project each")
	tofu.seed(t, e, "envs/dev", map[string]string{"envs/dev/main.tf": liveTF(states, "dev", "a1", "b1", false)})
	tf.seed(t, e, "envs/prod", map[string]string{"envs/prod/main.tf": liveTF(states, "prod", "a1", "b1", false)})

	pr := e.openPlanned("both", "carol", map[string]string{
		"envs/dev/main.tf":  liveTF(states, "dev", "a2", "b1", false),
		"envs/prod/main.tf": liveTF(states, "prod", "a2", "b1", false),
	}, "success")
	body := planComment(t, gh, pr.Number).Body
	mustContain(t, body, "### 📝 `envs/dev` · OpenTofu", "| `envs/dev` (OpenTofu) |", "### 📝 `envs/prod`\n", "| `envs/prod` |",
		"OpenTofu will perform the following actions", "Terraform will perform the following actions")
	if _, desc := status(gh, pr.HeadSHA, "planbot/plan"); !strings.HasPrefix(desc, "Terraform and OpenTofu: ") {
		t.Errorf("planbot/plan description = %q, want it to name both engines", desc)
	}
	help := e.command(pr.Number, "bob", "/help")
	mustContain(t, help, "| `envs/dev` | `envs/dev` | `default` | terraform (OpenTofu) |", "| `envs/prod` | `envs/prod` | `default` | terraform |")

	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	gh.SubmitReview(testRepo, pr.Number, "alice", "APPROVED", pr.HeadSHA)
	reply := e.command(pr.Number, "bob", "/apply")
	if !strings.Contains(reply, "applied `envs/dev`") || !strings.Contains(reply, "applied `envs/prod`") || !strings.Contains(reply, "merged") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	tofu.wantWriter(t, states, "dev")
	tf.wantWriter(t, states, "prod")
}

// TestEngineMissing plans an OpenTofu project on a server whose PATH has
// no tofu: that project fails with an error that says what is missing and
// how to install it, and the Terraform project next to it is planned.
func TestEngineMissing(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"terraform", "git"} {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	gh.Commit(testRepo, "main", map[string]string{".planbot.yaml": mixedConfig}, nil, "one project each")

	pr := e.openPlanned("no-tofu", "carol", map[string]string{"envs/dev/main.tf": rootTF("dev-2"), "envs/prod/main.tf": rootTF("prod-2")}, "failure")
	body := planComment(t, gh, pr.Number).Body
	mustContain(t, body, "### ❌ `envs/dev` · OpenTofu",
		"this project runs on OpenTofu (`engine: tofu` in .planbot.yaml), and planbot found no tofu binary on PATH",
		"https://opentofu.org/docs/intro/install/", "### 📝 `envs/prod`", "Terraform will perform the following actions")
}
