package server

import (
	"os"
	"testing"

	"github.com/planbot/planbot/sandbox"
)

// TestMain lets this test binary act as the sandbox helper of the
// terraform runs its servers start, as planbot's own main does.
func TestMain(m *testing.M) {
	sandbox.RunHelper()
	os.Exit(m.Run())
}
