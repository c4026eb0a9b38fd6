package runner

import (
	"context"
	"log/slog"
	"path"
	"slices"

	"github.com/planbot/planbot"
)

// fmtChecker checks the formatting of several Terraform roots of a
// checkout with one terraform process (terraform.Runner.FmtCheck).
type fmtChecker interface {
	FmtCheck(ctx context.Context, root string, dirs []string) (map[string]string, error)
}

// checkFormat checks the formatting of a pull request's Terraform roots
// in its head checkout with one terraform process, under a plan slot,
// when it plans two or more; each root's plan then takes its part instead
// of running its own check, the same output (see FmtCheck). It returns
// nil, and each plan checks its own, when there is less to gain or the
// check at once fails.
func (p *Planner) checkFormat(ctx context.Context, head string, projects []planbot.Project, log *slog.Logger) map[string]string {
	fc, ok := p.Terraform.(fmtChecker)
	if !ok {
		return nil
	}
	// The check at once runs the default engine's binary: a project of
	// the other engine checks its own.
	def := p.Terraform.EngineOf("")
	var dirs []string
	for _, prj := range projects {
		d := path.Clean(prj.Dir)
		if prj.Kind == planbot.KindKustomize || prj.Deleted || d == "." || prj.Engine != def || slices.Contains(dirs, d) {
			continue
		}
		dirs = append(dirs, d)
	}
	if len(dirs) < 2 {
		return nil
	}
	release, err := p.Slots.Acquire(ctx)
	if err != nil {
		return nil
	}
	defer release()
	out, err := fc.FmtCheck(ctx, head, dirs)
	if err != nil {
		log.Info("formatting check of the roots at once failed; each root checks its own", "err", err)
		return nil
	}
	return out
}
