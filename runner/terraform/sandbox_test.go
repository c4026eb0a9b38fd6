package terraform

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/sandbox"
	"github.com/planbot/planbot/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	sandboxtest.Main(m)
}

// TestSandboxDeniesReadsOutsideTheRun plans a root that reads a file
// outside its checkout with file() and filebase64(): confined, terraform
// fails and the bytes appear nowhere; unconfined, the same plan shows
// them, so the test can fail.
func TestSandboxDeniesReadsOutsideTheRun(t *testing.T) {
	forEachEngine(t, testSandboxDeniesReadsOutsideTheRun)
}

func testSandboxDeniesReadsOutsideTheRun(t *testing.T, engine *Runner) {
	const secret = "-----BEGIN RSA PRIVATE KEY----- key-bytes-7f3a9"
	secretFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := `output "k" {
  value = filebase64(` + `"` + secretFile + `"` + `)
}

output "e" {
  value = file("/proc/1/environ")
}
`
	for _, tt := range []struct {
		mode     sandbox.Mode
		wantRead bool
	}{{sandbox.ModeOff, true}, {sandbox.ModeLandlock, false}} {
		t.Run(string(tt.mode), func(t *testing.T) {
			r := engineRunner(t, engine.Engine)
			r.Sandbox = sandboxtest.New(t, tt.mode)
			dir := t.TempDir()
			body := tf
			if tt.wantRead {
				// Unconfined, /proc/1/environ may still be refused to a
				// non-root user; read only the key.
				body = strings.SplitN(tf, "\n\n", 2)[0] + "\n"
			}
			writeFiles(t, dir, map[string]string{"main.tf": body})
			res, err := r.Plan(context.Background(), dir, "")
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			all := res.Output + res.Error + res.Summary
			encoded := base64.StdEncoding.EncodeToString([]byte(secret))
			leaked := strings.Contains(all, encoded) || strings.Contains(all, secret)
			if tt.wantRead {
				if res.Status != planbot.StatusPlanned || !leaked {
					t.Fatalf("unconfined plan did not read the file: %s %q", res.Status, all)
				}
				return
			}
			if leaked {
				t.Fatalf("confined plan leaked the file: %q", all)
			}
			if res.Status != planbot.StatusFailed || !strings.Contains(res.Error, "permission denied") {
				t.Fatalf("confined plan: status %s, error %q; want a failure with terraform's permission error", res.Status, res.Error)
			}
		})
	}
}

// TestSandboxCredentials plans and applies with different credentials:
// the plan sees only the plan value, and the apply's environment only the
// apply value.
func TestSandboxCredentials(t *testing.T) {
	r := realRunner(t)
	dir := t.TempDir()
	dump := filepath.Join(t.TempDir(), "apply-env")
	writeFiles(t, dir, map[string]string{"main.tf": `variable "token" {
  type = string
}

output "seen" {
  value = var.token
}

resource "terraform_data" "dump" {
  provisioner "local-exec" {
    command = "env > ` + dump + `"
  }
}
`})
	ctx := context.Background()
	res, err := r.Plan(ctx, dir, "", Env(map[string]string{"TF_VAR_token": "plan-secret"}))
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan: %v %s %s", err, res.Status, res.Error)
	}
	if !strings.Contains(res.Output, `"plan-secret"`) || strings.Contains(res.Output, "apply-secret") {
		t.Errorf("plan output: want the plan value only:\n%s", res.Output)
	}
	// The dump is written outside the run's directories: give the apply
	// that directory, as an operator's apply credentials might.
	if _, err := r.Apply(ctx, dir, res.PlanFile, res.PlanSHA256, Env(map[string]string{"TF_VAR_token": "apply-secret"})); err == nil {
		t.Fatal("apply wrote outside its sandbox")
	}
	r.Sandbox.SystemWrite = append([]string{filepath.Dir(dump)}, sandbox.SystemWrite...)
	res, err = r.Plan(ctx, dir, "", Env(map[string]string{"TF_VAR_token": "plan-secret"}))
	if err != nil || res.Status != planbot.StatusPlanned {
		t.Fatalf("Plan: %v %s %s", err, res.Status, res.Error)
	}
	if out, err := r.Apply(ctx, dir, res.PlanFile, res.PlanSHA256, Env(map[string]string{"TF_VAR_token": "apply-secret"})); err != nil {
		t.Fatalf("Apply: %v\n%s", err, out)
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	if !strings.Contains(env, "TF_VAR_token=apply-secret\n") || strings.Contains(env, "plan-secret") {
		t.Errorf("apply environment: want the apply value only:\n%s", env)
	}
	if strings.Contains(env, sandbox.EnvVar) {
		t.Errorf("the sandbox policy reached terraform")
	}
}

func TestCredentialsNeedTheSandbox(t *testing.T) {
	r := realRunner(t)
	r.Sandbox = nil
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	res, err := r.Plan(context.Background(), dir, "", Env(map[string]string{"TF_VAR_x": "y"}))
	if err == nil || res.Status != planbot.StatusFailed {
		t.Fatalf("Plan without a sandbox took credentials: %v %s", err, res.Status)
	}
}

// TestSandboxBinaryOutsideSystemPaths plans, confined, with each engine's
// binary reached through a symlink in a directory the sandbox's system
// paths do not cover, as a tofu in $HOME/go/bin or /opt is: the policy
// lets the run read and execute that binary, and nothing else of its
// directory.
func TestSandboxBinaryOutsideSystemPaths(t *testing.T) {
	forEachEngine(t, func(t *testing.T, r *Runner) {
		dir := t.TempDir()
		link := filepath.Join(dir, r.Engine.Command())
		if err := os.Symlink(r.Bin, link); err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(dir, "secret.txt")
		if err := os.WriteFile(secret, []byte("next to the binary"), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := FindBinary(context.Background(), link)
		if err != nil || b.Engine != r.Engine {
			t.Fatalf("FindBinary(%s) = %+v, %v", link, b, err)
		}
		r.Bin = b.Path
		root := t.TempDir()
		writeFiles(t, root, map[string]string{"main.tf": dataA})
		res, err := r.Plan(context.Background(), root, "")
		if err != nil || res.Status != planbot.StatusPlanned {
			t.Fatalf("Plan through %s = %s, %v: %s", link, res.Status, err, res.Error)
		}
		writeFiles(t, root, map[string]string{"main.tf": "output \"s\" {\n  value = file(\"" + secret + "\")\n}\n"})
		res, err = r.Plan(context.Background(), root, "")
		if err != nil || res.Status != planbot.StatusFailed || strings.Contains(res.Output+res.Error, "next to the binary") {
			t.Fatalf("a file next to the binary was readable: %s, %v: %s%s", res.Status, err, res.Output, res.Error)
		}
	})
}
