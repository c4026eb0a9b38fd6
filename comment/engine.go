package comment

import "github.com/planbot/planbot"

// EngineName returns the name of the tool that plans project p, as
// planbot shows it in check runs: "Kustomize" for an overlay, else the
// name of the project's engine ("Terraform" or "OpenTofu", from
// planbot.Engine.Name).
func EngineName(p planbot.Project) string {
	if p.Kind == planbot.KindKustomize {
		return "Kustomize"
	}
	return p.Engine.Name()
}
