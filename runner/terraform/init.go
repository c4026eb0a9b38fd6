package terraform

import "context"

// initArgs returns the arguments of `terraform init`: the ones tfexec's
// Init passes with its default options, for terraform 0.15 and later.
// Init has no -lock-timeout since Terraform 0.15.
func initArgs() []string {
	return []string{"init", "-no-color", "-input=false", "-backend=true", "-get=true", "-upgrade=false"}
}

// init runs `terraform init` in the run's directory.
func (s *run) init(ctx context.Context) error {
	return s.runArgs(ctx, "init", initArgs(), nil)
}
