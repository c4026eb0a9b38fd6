package planbot

import "testing"

// TestEngine parses each engine from its command and checks its names; the
// unset engine is Terraform, and Or gives it a default.
func TestEngine(t *testing.T) {
	for _, want := range []struct {
		engine        Engine
		command, name string
	}{{EngineTerraform, "terraform", "Terraform"}, {EngineOpenTofu, "tofu", "OpenTofu"}} {
		t.Run(want.name, func(t *testing.T) {
			if e, ok := ParseEngine(want.command); !ok || e != want.engine {
				t.Errorf("ParseEngine(%q) = %q, %v", want.command, e, ok)
			}
			checkEngine(t, want.engine, want.name, want.command, want.engine)
		})
	}
	t.Run("unset is terraform", func(t *testing.T) {
		checkEngine(t, "", "Terraform", "terraform", EngineOpenTofu)
	})
	for _, s := range []string{"", "opentofu", "Terraform", "pulumi"} {
		if e, ok := ParseEngine(s); ok {
			t.Errorf("ParseEngine(%q) = %q, want refused", s, e)
		}
	}
}

// checkEngine checks e's display name, its command, and what Or(tofu)
// makes of it.
func checkEngine(t *testing.T, e Engine, name, command string, orTofu Engine) {
	t.Helper()
	if got := e.Name(); got != name {
		t.Errorf("Name() = %q, want %q", got, name)
	}
	if got := e.Command(); got != command {
		t.Errorf("Command() = %q, want %q", got, command)
	}
	if got := e.Or(EngineOpenTofu); got != orTofu {
		t.Errorf("Or(tofu) = %q, want %q", got, orTofu)
	}
}
