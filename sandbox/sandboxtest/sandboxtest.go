// Package sandboxtest gives tests a sandbox whose helper is the test
// binary itself. A package that uses it must call sandbox.RunHelper first
// in its TestMain, as planbot's main does: Main is that TestMain.
package sandboxtest

import (
	"os"
	"testing"

	"github.com/planbot/planbot/sandbox"
)

// New returns a sandbox in mode whose helper is the running test binary.
// In sandbox.ModeLandlock it fails the test, never skips it, when the
// kernel does not enforce Landlock.
func New(t testing.TB, mode sandbox.Mode) *sandbox.Sandbox {
	t.Helper()
	if mode == sandbox.ModeLandlock {
		if err := sandbox.Supported(); err != nil {
			t.Fatalf("this test needs Landlock: %v", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &sandbox.Sandbox{Mode: mode, Helper: exe}
}

// Main is the TestMain of a package whose tests run terraform: the test
// binary first acts as the sandbox helper when started as one, as
// planbot's main does, and otherwise runs the tests and exits with their
// status.
func Main(m *testing.M) {
	sandbox.RunHelper()
	os.Exit(m.Run())
}
