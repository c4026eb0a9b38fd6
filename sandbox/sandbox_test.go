package sandbox_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/sandbox"
	"github.com/planbot/planbot/sandbox/sandboxtest"
)

func TestMain(m *testing.M) {
	sandboxtest.Main(m)
}

// run starts program under s with the given paths and returns its
// combined output and error.
func run(t *testing.T, s *sandbox.Sandbox, read, write []string, env map[string]string, program string, args ...string) (string, error) {
	t.Helper()
	path, k, v, err := s.Command(program, read, write, env)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), k+"="+v)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestConfinedReadsOnlyWhatThePolicyAllows(t *testing.T) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Fatal(err)
	}
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "app.pem")
	if err := os.WriteFile(secret, []byte("TOP-SECRET-KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	mine := filepath.Join(work, "main.tf")
	if err := os.WriteFile(mine, []byte("MINE"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Unconfined, the same read succeeds: the test can fail.
	out, err := run(t, sandboxtest.New(t, sandbox.ModeOff), nil, []string{work}, nil, cat, secret)
	if err != nil || !strings.Contains(out, "TOP-SECRET-KEY") {
		t.Fatalf("unconfined read: %v %q", err, out)
	}

	ll := sandboxtest.New(t, sandbox.ModeLandlock)
	out, err = run(t, ll, nil, []string{work}, nil, cat, secret)
	if err == nil || strings.Contains(out, "TOP-SECRET-KEY") {
		t.Fatalf("confined read of a secret succeeded: %v %q", err, out)
	}
	if !strings.Contains(out, "Permission denied") {
		t.Errorf("confined read: want permission denied, got %q", out)
	}
	out, err = run(t, ll, nil, []string{work}, nil, cat, mine, "/proc/1/environ")
	if !strings.Contains(out, "MINE") {
		t.Errorf("confined read of its own directory failed: %v %q", err, out)
	}
	if err == nil || !strings.Contains(out, "/proc/1/environ: Permission denied") {
		t.Errorf("confined read of another process's environ: %v %q", err, out)
	}

	// Writes: allowed in the write list, refused elsewhere.
	sh, _ := exec.LookPath("sh")
	out, err = run(t, ll, nil, []string{work}, nil, sh, "-c", "echo x > "+filepath.Join(work, "ok")+" && echo x > "+filepath.Join(secretDir, "no"))
	if _, statErr := os.Stat(filepath.Join(work, "ok")); statErr != nil {
		t.Errorf("write in the work directory failed: %v %q", err, out)
	}
	if _, statErr := os.Stat(filepath.Join(secretDir, "no")); statErr == nil {
		t.Errorf("write outside the policy succeeded")
	}
	// Read-only paths can be read but not written.
	out, err = run(t, ll, []string{secretDir}, []string{work}, nil, sh, "-c", "cat "+secret+"; echo y > "+filepath.Join(secretDir, "no"))
	if !strings.Contains(out, "TOP-SECRET-KEY") {
		t.Errorf("read of a read-only path failed: %v %q", err, out)
	}
	if _, statErr := os.Stat(filepath.Join(secretDir, "no")); statErr == nil {
		t.Errorf("write to a read-only path succeeded")
	}
}

func TestEnvironmentIsAddedAndPolicyRemoved(t *testing.T) {
	env, err := exec.LookPath("env")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []sandbox.Mode{sandbox.ModeOff, sandbox.ModeLandlock} {
		t.Run(string(mode), func(t *testing.T) {
			out, err := run(t, sandboxtest.New(t, mode), nil, nil, map[string]string{"TF_VAR_token": "plan-secret"}, env)
			if err != nil {
				t.Fatalf("%v %q", err, out)
			}
			if !strings.Contains(out, "TF_VAR_token=plan-secret\n") {
				t.Errorf("variable not added: %q", out)
			}
			if strings.Contains(out, sandbox.EnvVar) {
				t.Errorf("the policy reached the program: %q", out)
			}
		})
	}
}

func TestHelperRefusesABrokenPolicy(t *testing.T) {
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), sandbox.EnvVar+`={"program":"relative"}`)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 126 || !strings.Contains(string(out), "planbot sandbox:") {
		t.Fatalf("broken policy: %v %q", err, out)
	}
}

func TestExposed(t *testing.T) {
	s := &sandbox.Sandbox{Mode: sandbox.ModeLandlock, Helper: "/x", SystemRead: []string{"/usr", "/etc/ssl/certs"}}
	if err := s.Exposed("/etc/planbot/app.pem", "/var/lib/planbot"); err != nil {
		t.Errorf("safe paths: %v", err)
	}
	if err := s.Exposed("/usr/local/etc/app.pem"); err == nil || !strings.Contains(err.Error(), "/usr") {
		t.Errorf("exposed key: %v", err)
	}
	off := &sandbox.Sandbox{Mode: sandbox.ModeOff, Helper: "/x"}
	if err := off.Exposed("/usr/local/etc/app.pem"); err != nil {
		t.Errorf("off: %v", err)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]sandbox.Mode{"landlock": sandbox.ModeLandlock, "OFF": sandbox.ModeOff} {
		if got, err := sandbox.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := sandbox.ParseMode("seccomp"); err == nil {
		t.Error("ParseMode(seccomp): no error")
	}
}

// TestStandaloneHelper builds cmd/planbot-sandbox, puts it next to a copy
// of this test binary, and checks that New picks it and that it confines
// as the built-in helper does.
func TestStandaloneHelper(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, sandbox.HelperName), "github.com/planbot/planbot/cmd/planbot-sandbox").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := &sandbox.Sandbox{Mode: sandbox.ModeLandlock, Helper: filepath.Join(dir, sandbox.HelperName)}
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("STANDALONE-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	cat, _ := exec.LookPath("cat")
	got, err := run(t, s, nil, nil, map[string]string{"X": "1"}, cat, secret)
	if err == nil || strings.Contains(got, "STANDALONE-SECRET") {
		t.Fatalf("standalone helper did not confine: %v %q", err, got)
	}
	s.Mode = sandbox.ModeOff
	if got, err := run(t, s, nil, nil, nil, cat, secret); err != nil || got != "STANDALONE-SECRET" {
		t.Fatalf("standalone helper, off: %v %q", err, got)
	}
	// Started by hand, without a policy, it says what it is for.
	b, err := exec.Command(filepath.Join(dir, sandbox.HelperName)).CombinedOutput()
	if err == nil || !strings.Contains(string(b), sandbox.EnvVar) {
		t.Errorf("without a policy: %v %q", err, b)
	}
}
