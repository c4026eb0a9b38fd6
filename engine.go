package planbot

import "strings"

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

// IsConfigFile reports whether a file of this name holds Terraform
// configuration: *.tf and *.tf.json, which both engines read, and
// OpenTofu's own *.tofu and *.tofu.json.
func IsConfigFile(name string) bool {
	for _, suffix := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// Or returns e, or def when e is empty.
func (e Engine) Or(def Engine) Engine {
	if e == "" {
		return def
	}
	return e
}
