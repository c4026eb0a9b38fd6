package driftcmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/drift/drifttest"
	"github.com/planbot/planbot/runner/terraform/statetest"
	"github.com/planbot/planbot/sandbox/sandboxtest"
)

// TestMain lets this test binary act as the sandbox helper, as planbot's
// main does.
func TestMain(m *testing.M) {
	sandboxtest.Main(m)
}

func noEnv(string) string { return "" }

// noPass fails the test: --local must never reach GitHub.
func noPass(t *testing.T) Pass {
	return func(context.Context, config.Server, drift.Window) ([]drift.Summary, error) {
		t.Fatal("--local ran a pass against GitHub")
		return nil, nil
	}
}

// runLocal runs planbot drift --local with args, fails t unless it exits
// with code, checks that its output holds each of wants, and returns the
// output.
func runLocal(t *testing.T, code int, args []string, wants ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	got := Main(context.Background(), append([]string{"--local"}, args...), noEnv, noPass(t), &out, &errb)
	if got != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, code, out.String(), errb.String())
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	return out.String()
}

// TestLocal checks a local checkout whose root's state changed behind
// terraform's back: the issue body names the address and the exit status
// is 2; once the state is restored nothing drifts and the status is 0.
func TestLocal(t *testing.T) {
	states := statetest.New(t)
	dir := drifttest.LocalRepo(t, states)
	states.SetDataInput("live", "changed-in-the-console")

	out := runLocal(t, ExitDrift, []string{"--repo", dir},
		"# Drift: local/live .", "terraform_data.input", "1 to change", "changed-in-the-console", "1 check)")
	// This kernel has Landlock: the plan ran sandboxed.
	if strings.Contains(out, "unsandboxed") {
		t.Errorf("the plan ran unsandboxed on a kernel with Landlock:\n%s", out)
	}
	if got := states.Resources("live"); len(got) != 1 {
		t.Errorf("state resources after the check = %v, want the one applied", got)
	}

	states.SetDataInput("live", "v1")
	out = runLocal(t, ExitClean, []string{"--repo", dir, "--ref", "main"})
	if !strings.HasPrefix(out, "No drift: the Terraform project . matches ") {
		t.Errorf("output = %q, want that nothing drifts", out)
	}
}

// TestLocalOpenTofu checks a checkout whose .planbot.yaml runs every
// project with OpenTofu (engine: tofu at the top, for autodetected
// projects): the drift is found by tofu, and the issue says OpenTofu.
func TestLocalOpenTofu(t *testing.T) {
	states := statetest.New(t)
	dir := drifttest.LocalRepo(t, states)
	if err := os.WriteFile(filepath.Join(dir, ".planbot.yaml"), []byte("version: 1\nengine: tofu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"add", ".planbot.yaml"},
		{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "tofu"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	states.SetDataInput("live", "changed-in-the-console")

	runLocal(t, ExitDrift, []string{"--repo", dir},
		"# Drift: local/live .", "### 📝 `.` · OpenTofu", "| `.` (OpenTofu) |", "OpenTofu will perform", "changed-in-the-console")
}
