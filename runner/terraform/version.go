package terraform

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/planbot/planbot"
)

// versionArgs are the arguments of the version query.
func versionArgs() []string { return []string{"version", "-json"} }

// Version returns the version of the binary that runs projects of the
// engine UseEngine names (by default, of Bin), such as "1.11.4". It runs
// in the same minimal environment as every other command.
func (r *Runner) Version(ctx context.Context, opts ...RunOption) (string, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	e, bin, err := r.binary(o.engine)
	if err != nil {
		return "", err
	}
	out, err := runVersion(ctx, bin, versionArgs()...)
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("%s version: unexpected output %q", e.Command(), limit(string(out), 200))
	}
	return v.Version, nil
}

// EngineOf returns the engine that runs a project whose configuration
// names e: e, or the engine of Bin when e is empty.
func (r *Runner) EngineOf(e planbot.Engine) planbot.Engine {
	return e.Or(r.Engine).Or(planbot.EngineTerraform)
}

// binary returns the engine that runs a project whose configuration
// names e, and that engine's binary. A missing binary is an ENOTFOUND
// error that says how to install one.
func (r *Runner) binary(e planbot.Engine) (planbot.Engine, string, error) {
	e = r.EngineOf(e)
	if e == r.EngineOf("") {
		if r.Bin == "" {
			return e, "", planbot.Errorf(planbot.EINVALID, "%s binary not configured", e.Command())
		}
		return e, r.Bin, nil
	}
	if bin := r.Others[e]; bin != "" {
		return e, bin, nil
	}
	return e, "", planbot.Errorf(planbot.ENOTFOUND,
		"this project runs on %s (`engine: %s` in .planbot.yaml), and planbot found no %s binary on PATH. %s",
		e.Name(), e, e.Command(), InstallHint(e))
}
