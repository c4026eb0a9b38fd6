package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/sandbox/sandboxtest"
)

// TestMain lets this test binary act as the sandbox helper, as main does.
func TestMain(m *testing.M) {
	sandboxtest.Main(m)
}

// TestPlanExample runs the README's first command: a plan of the embedded
// example repository that prints the PR comment, with terraform and, with
// --terraform-bin tofu, with OpenTofu.
func TestPlanExample(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		engine   string
		opentofu bool
	}{
		{name: "terraform", engine: "Terraform will perform"},
		{name: "tofu", args: []string{"--terraform-bin", "tofu"}, engine: "OpenTofu will perform", opentofu: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := planExample(t, tt.args...)
			if !strings.Contains(out, tt.engine) {
				t.Errorf("output lacks %q:\n%s", tt.engine, out)
			}
			if got := strings.Contains(out, "`envs/dev` (OpenTofu)"); got != tt.opentofu {
				t.Errorf("the table names OpenTofu = %v, want %v:\n%s", got, tt.opentofu, out)
			}
		})
	}
}

// planExample runs `planbot plan --example` with extra args and returns
// the comment.
func planExample(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"plan", "--example"}, args...), &out, &errb); code != 0 {
		t.Fatalf("planbot plan --example: exit %d\n%s", code, errb.String())
	}
	for _, want := range []string{
		"<!-- planbot:plan", "envs/dev", "envs/prod", "k8s/overlays/staging", "k8s/overlays/prod",
		"Plan: 3 to add, 0 to change, 0 to destroy.", "replicas: 3",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// This kernel has Landlock: the plans ran sandboxed.
	if strings.Contains(out.String(), "unsandboxed") {
		t.Errorf("the example ran unsandboxed on a kernel with Landlock:\n%s", out.String())
	}
	return out.String()
}

func TestPlanOut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "comment.md")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"plan", "--example", "--out", file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), "envs/dev") {
		t.Fatalf("--out wrote %q (%v)", b, err)
	}
	if out.Len() != 0 {
		t.Errorf("--out also printed to stdout: %q", out.String())
	}
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{name: "no command", args: nil, code: 2},
		{name: "unknown command", args: []string{"deploy"}, code: 2},
		{name: "help", args: []string{"help"}, code: 0},
		{name: "server without secret", args: []string{"server", "--github-app-id=1", "--github-app-key-file=/k"}, code: 2},
		{name: "plan extra args", args: []string{"plan", "extra"}, code: 2},
		{name: "server help", args: []string{"server", "-h"}, code: 0},
		{name: "setup help", args: []string{"setup", "-h"}, code: 0},
		{name: "version help", args: []string{"version", "-h"}, code: 0},
		{name: "setup without webhook url", args: []string{"setup", "--org", "acme"}, code: 2},
		{name: "plan help", args: []string{"plan", "-h"}, code: 0},
		{name: "owners help", args: []string{"owners", "-h"}, code: 0},
		{name: "audit help", args: []string{"audit", "-h"}, code: 0},
		{name: "drift help", args: []string{"drift", "-h"}, code: 0},
		{name: "drift without app", args: []string{"drift"}, code: 1},
		{name: "drift ref without local", args: []string{"drift", "--ref", "main"}, code: 1},
		{name: "drift local not a repository", args: []string{"drift", "--local", "--repo", "/nonexistent/planbot"}, code: 1},
		{name: "audit without database", args: []string{"audit", "--data-dir", "/nonexistent/planbot"}, code: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out.String(), errb.String())
			}
		})
	}
}

// TestSubcommandHelp runs -h and --help of every subcommand the top-level
// usage lists: each exits 0 and prints, on stdout alone, the same usage
// style (config.WriteUsage), every flag with its PLANBOT_* twin.
func TestSubcommandHelp(t *testing.T) {
	var commands []string
	for _, line := range strings.Split(usage, "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "  planbot ") && f[1] != "help" {
			commands = append(commands, f[1])
		}
	}
	if len(commands) < 7 {
		t.Fatalf("found only %q in the usage", commands)
	}
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			t.Run(c+" "+h, func(t *testing.T) {
				var out, errb bytes.Buffer
				if code := run(context.Background(), []string{c, h}, &out, &errb); code != 0 {
					t.Fatalf("exit %d, want 0\n%s", code, errb.String())
				}
				if errb.Len() > 0 {
					t.Errorf("help wrote to stderr: %q", errb.String())
				}
				help := out.String()
				if !strings.HasPrefix(help, "usage: planbot "+c) || !strings.Contains(help, "\nFlags, each with its environment twin (a flag on the command line wins):\n") {
					t.Fatalf("help is not in the shared usage style:\n%s", help)
				}
				flags := 0
				for _, line := range strings.Split(help, "\n") {
					name, ok := strings.CutPrefix(line, "  --")
					if !ok {
						continue
					}
					flags++
					name, _, _ = strings.Cut(name, " ")
					if !strings.HasSuffix(strings.TrimSpace(line), config.EnvName(name)) {
						t.Errorf("flag line lacks its twin %s: %q", config.EnvName(name), line)
					}
				}
				if flags == 0 {
					t.Errorf("help lists no flag:\n%s", help)
				}
			})
		}
	}
}

// TestEnvTwins gives the subcommands' flags through their environment
// twins.
func TestEnvTwins(t *testing.T) {
	t.Setenv("PLANBOT_TERRAFORM_BIN", "/nonexistent/tofu")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), `terraform binary "/nonexistent/tofu" is missing`) {
		t.Errorf("version did not use PLANBOT_TERRAFORM_BIN:\n%s", out.String())
	}
	t.Setenv("PLANBOT_TERRAFORM_BIN", "")
	t.Setenv("PLANBOT_JSON", "maybe")
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"owners", "x"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `invalid PLANBOT_JSON="maybe"`) {
		t.Errorf("owners with PLANBOT_JSON=maybe: exit %d, stderr %q; want 2 and the twin named", code, errb.String())
	}
}

// TestServerHelp checks that `planbot server -h` prints every flag with its
// environment twin on stdout.
func TestServerHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"server", "-h"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	for _, want := range []string{"usage: planbot server [flags]", "--github-app-id int", "PLANBOT_GITHUB_APP_ID", "--webhook-secret-file", "PLANBOT_DRY_RUN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServerReportsAllProblems checks that a server started without its
// options names each of them, and what it expects.
func TestServerReportsAllProblems(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"server", "--github-app-id=abc"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, errb.String())
	}
	for _, want := range []string{`--github-app-id must be a number, not "abc"`, "--github-app-key-file", "webhook secret is required"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

// TestPlanWithoutTerraform plans the example with no terraform on PATH: the
// error says which versions are supported, how to install one and that
// --terraform-bin names another, and the Kustomize half still renders.
func TestPlanWithoutTerraform(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(git, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("PLANBOT_TERRAFORM_BIN", "")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"plan", "--example"}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, errb.String())
	}
	for _, want := range []string{"no terraform binary on PATH", "supports terraform >= 1.5.0, < 2.0.0", "https://developer.hashicorp.com/terraform/install", "--terraform-bin"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	for _, want := range []string{"k8s/overlays/staging", "k8s/overlays/prod", "replicas: 3", "envs/dev", "--terraform-bin"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comment lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPlanNotARepository checks that a wrong --repo is named before
// terraform is looked for.
func TestPlanNotARepository(t *testing.T) {
	for _, dir := range []string{"/not/a/repo", t.TempDir()} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"plan", "--repo", dir, "--terraform-bin", "/nonexistent/terraform"}, &out, &errb)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", dir, code)
		}
		if !strings.Contains(errb.String(), dir+" is not a git repository") || strings.Contains(errb.String(), "terraform") {
			t.Errorf("%s: stderr = %q, want only that it is not a git repository", dir, errb.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	tv := regexp.MustCompile(`(?m)^terraform: 1\.\d+\.\d+ \(`)
	for _, want := range []string{"planbot ", "commit: ", "go: " + runtime.Version()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !tv.MatchString(out.String()) {
		t.Errorf("output lacks the terraform version:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^tofu: 1\.\d+\.\d+ \(OpenTofu, /`).MatchString(out.String()) {
		t.Errorf("output lacks the OpenTofu version:\n%s", out.String())
	}

	// With --terraform-bin tofu, OpenTofu runs the projects that name no
	// engine; terraform is still found for those that name it.
	out.Reset()
	if code := run(context.Background(), []string{"version", "--terraform-bin", "tofu"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 5 || !strings.HasPrefix(lines[3], "tofu: ") || !strings.HasSuffix(lines[3], "runs projects that name no engine)") || !strings.HasPrefix(lines[4], "terraform: ") {
		t.Errorf("version --terraform-bin tofu:\n%s", out.String())
	}
}

func TestBuildVersion(t *testing.T) {
	for _, tt := range []struct {
		name          string
		info          *debug.BuildInfo
		ok            bool
		version, want string
	}{
		{name: "no build info", ok: false, version: "unknown", want: "unknown"},
		{name: "no vcs", info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, ok: true, version: "v1.2.0", want: "unknown (built without version control information)"},
		{name: "vcs", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
		}}, ok: true, version: "(devel)", want: "abc123 (2026-01-02T03:04:05Z), with uncommitted changes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, c := buildVersion(tt.info, tt.ok)
			if v != tt.version || c != tt.want {
				t.Errorf("buildVersion = %q, %q; want %q, %q", v, c, tt.version, tt.want)
			}
		})
	}
}
