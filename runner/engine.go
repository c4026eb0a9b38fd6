package runner

import (
	"context"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/store"
)

// engineOf tells which engine runs a project.
type engineOf interface {
	EngineOf(e planbot.Engine) planbot.Engine
}

// resolveEngines sets the engine of every Terraform project in ps to the
// one that runs it: the engine .planbot.yaml names, or the default
// engine of tf. The result of a plan then names its engine, for the
// comment and for the apply, which uses the same one.
func resolveEngines(tf engineOf, ps []planbot.Project) {
	if tf == nil {
		return
	}
	for i := range ps {
		if ps[i].Kind != planbot.KindKustomize {
			ps[i].Engine = tf.EngineOf(ps[i].Engine)
		}
	}
}

// versioned tells the version of an engine's binary.
type versioned interface {
	Version(ctx context.Context, opts ...terraform.RunOption) (string, error)
}

// checkVersions checks the binary of every engine that runs one of ps
// against the terraform_version constraint of cfg, when it sets one. An
// engine whose binary is missing is left to the plans of its projects,
// which say so.
func checkVersions(ctx context.Context, tf versioned, cfg *config.Repo, ps []planbot.Project) error {
	if cfg.TerraformVersion == "" {
		return nil
	}
	seen := map[planbot.Engine]bool{}
	for _, p := range ps {
		if p.Kind == planbot.KindKustomize || seen[p.Engine] {
			continue
		}
		seen[p.Engine] = true
		v, err := tf.Version(ctx, terraform.UseEngine(p.Engine))
		if planbot.ErrorCode(err) == planbot.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if err := cfg.CheckTerraformVersion(v); err != nil {
			return err
		}
	}
	return nil
}

// planEngine returns the engine that made the saved plan p, which applies
// it; "" (the default engine) for a plan saved before plans named their
// engine.
func planEngine(p store.Plan) planbot.Engine {
	res, err := savedResult(p)
	if err != nil {
		return ""
	}
	return res.Project.Engine
}
