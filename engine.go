package planbot

// Engine is the program that plans and applies a Terraform project:
// HashiCorp Terraform or OpenTofu. Both read the same configuration and
// state, and planbot drives them alike; only their binaries and names
// differ.
type Engine string

// The engines. The empty Engine is EngineTerraform.
const (
	EngineTerraform Engine = "terraform"
	EngineOpenTofu  Engine = "tofu"
)

// ParseEngine returns the engine named s, "terraform" or "tofu", or
// false.
func ParseEngine(s string) (Engine, bool) {
	switch e := Engine(s); e {
	case EngineTerraform, EngineOpenTofu:
		return e, true
	}
	return "", false
}

// Name returns the engine's display name, as comments, statuses and
// check runs show it: "Terraform" or "OpenTofu".
func (e Engine) Name() string {
	if e == EngineOpenTofu {
		return "OpenTofu"
	}
	return "Terraform"
}

// Command returns the name of the engine's binary, as commands are
// written in messages: "terraform" or "tofu".
func (e Engine) Command() string {
	if e == EngineOpenTofu {
		return "tofu"
	}
	return "terraform"
}

// Or returns e, or def when e is empty.
func (e Engine) Or(def Engine) Engine {
	if e == "" {
		return def
	}
	return e
}
