package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/sandbox"
)

// TestMain lets this test binary act as the sandbox helper, as main does.
func TestMain(m *testing.M) {
	sandbox.RunHelper()
	os.Exit(m.Run())
}

// TestPlanExample runs the README's first command: a plan of the embedded
// example repository that prints the PR comment.
func TestPlanExample(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"plan", "--example"}, &out, &errb); code != 0 {
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
