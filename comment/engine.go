package comment

import "github.com/planbot/planbot"

// EngineName returns the name of the tool that plans project p, as
// planbot shows it in check runs: "Terraform" for a Terraform root,
// "Kustomize" for an overlay. It is the one place that names the engine;
// when planbot.Project learns its engine (OpenTofu), this function asks it.
func EngineName(p planbot.Project) string {
	if p.Kind == planbot.KindKustomize {
		return "Kustomize"
	}
	return "Terraform"
}
