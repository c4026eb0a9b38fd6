package server

import (
	"testing"

	"github.com/planbot/planbot/sandbox/sandboxtest"
)

// TestMain lets this test binary act as the sandbox helper of the
// terraform runs its servers start, as planbot's own main does.
func TestMain(m *testing.M) {
	sandboxtest.Main(m)
}
