package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/planbot/planbot"
)

// PlanFileName is the name of the saved plan in a project directory.
const PlanFileName = "planbot.tfplan"

// Plan plans the project in dir in the given workspace ("" means
// "default") and saves the plan as PlanFileName in dir.
//
// The returned Result has Status StatusPlanned, StatusNoChange or
// StatusFailed. A failure of terraform itself (a syntax error, a failed
// refresh) is a Result with StatusFailed and terraform's stderr in Error,
// and a nil error; the error is non-nil only when terraform could not be
// run at all or ctx ended. Unformatted files are reported in Fmt and do
// not fail the plan. Result.Project is left for the caller to fill in.
func (r *Runner) Plan(ctx context.Context, dir, workspace string, opts ...RunOption) (planbot.Result, error) {
	return r.plan(ctx, dir, workspace, false, opts...)
}

// PlanDestroy plans the destruction of everything in the state of the
// root in dir, in the given workspace ("" means "default"), with
// `terraform plan -destroy`, and saves the plan as PlanFileName in dir.
// dir is a copy of the root as it was before a change deleted it: its
// configuration names the backend and the providers the destroy needs.
//
// It runs exactly as Plan does (the same environment, init and workspace
// selection), except that formatting is not checked: the files are
// going away. An empty state, or a root that never had any, is a Result
// with StatusNoChange: nothing is destroyed. [Runner.Apply] applies the
// saved plan like any other.
func (r *Runner) PlanDestroy(ctx context.Context, dir, workspace string, opts ...RunOption) (planbot.Result, error) {
	return r.plan(ctx, dir, workspace, true, opts...)
}

// plan implements Plan and, when destroy is set, PlanDestroy.
func (r *Runner) plan(ctx context.Context, dir, workspace string, destroy bool, opts ...RunOption) (planbot.Result, error) {
	start := time.Now()
	res, err := r.planSteps(ctx, dir, workspace, destroy, opts...)
	res.Duration = time.Since(start)
	return res, err
}

// planSteps checks formatting (unless destroy is set), prepares the
// directory, plans and reads the plan back: everything plan does but
// timing it.
func (r *Runner) planSteps(ctx context.Context, dir, workspace string, destroy bool, opts ...RunOption) (planbot.Result, error) {
	res := planbot.Result{Status: planbot.StatusFailed}
	if workspace == "" {
		workspace = "default"
	}
	if err := validWorkspace(workspace); err != nil {
		res.Error = planbot.ErrorMessage(err)
		return res, err
	}
	s, err := r.open(dir, opts...)
	if err != nil {
		res.Error = planbot.ErrorMessage(err)
		return res, err
	}
	defer s.close()
	planFile := filepath.Join(s.dir, PlanFileName)
	// A plan left from an earlier run must never be applied by mistake.
	if err := os.Remove(planFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("terraform: remove old plan: %w", err)
	}
	if !destroy {
		fmtOut, err := s.fmtCheck(ctx)
		switch {
		case ctx.Err() != nil:
			return s.failed(ctx, res, "fmt", err)
		case err != nil:
			r.logger().Info("terraform fmt check failed", "project", s.dir, "err", err)
		}
		res.Fmt = fmtOut
	}
	if step, err := s.prepare(ctx, workspace); err != nil {
		return s.failed(ctx, res, step, err)
	}
	out, step, err := r.runPlan(ctx, s, planFile, destroy)
	if err != nil {
		return s.failed(ctx, res, step, err)
	}
	return r.planResult(res, out)
}

// failed records in res a failure of step. The error is non-nil only when
// terraform did not run to completion.
func (s *run) failed(ctx context.Context, res planbot.Result, step string, err error) (planbot.Result, error) {
	res.Status = planbot.StatusFailed
	res.Error = fmt.Sprintf("terraform %s failed:\n%s", step, s.stderrText(err))
	if isExit(err) && ctx.Err() == nil {
		return res, nil
	}
	return res, err
}

// planOutput is what runPlan learns from terraform.
type planOutput struct {
	file       string
	hasChanges bool
	plan       *tfjson.Plan
	text       string
}

// runPlan saves a plan in planFile and shows it, as JSON and as text. On
// failure it returns the step that failed.
func (r *Runner) runPlan(ctx context.Context, s *run, planFile string, destroy bool) (planOutput, string, error) {
	out := planOutput{file: planFile}
	planOpts := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.LockTimeout(r.lockTimeout())}
	step := "plan"
	if destroy {
		planOpts, step = append(planOpts, tfexec.Destroy(true)), "plan -destroy"
	}
	if err := s.do(ctx, step, func(ctx context.Context) error {
		var err error
		out.hasChanges, err = s.tf.Plan(ctx, planOpts...)
		return err
	}); err != nil {
		return out, step, err
	}
	if err := s.do(ctx, "show", func(ctx context.Context) error {
		var err error
		out.plan, err = s.tf.ShowPlanFile(ctx, planFile)
		return err
	}); err != nil {
		return out, "show", err
	}
	if err := s.do(ctx, "show", func(ctx context.Context) error {
		var err error
		out.text, err = s.tf.ShowPlanFileRaw(ctx, planFile)
		return err
	}); err != nil {
		return out, "show", err
	}
	return out, "", nil
}

// planResult fills in res from a saved and shown plan.
func (r *Runner) planResult(res planbot.Result, out planOutput) (planbot.Result, error) {
	sum, err := fileSHA256(out.file)
	if err != nil {
		return res, fmt.Errorf("terraform: %w", err)
	}
	res.Changes = changes(out.plan)
	res.Sensitive = sensitiveValues(out.plan)
	res.Output = limit(strings.TrimSpace(out.text), r.outputLimit())
	res.Summary = summary(out.text, res.Changes)
	res.PlanFile = out.file
	res.PlanSHA256 = sum
	res.Status = planbot.StatusNoChange
	if out.hasChanges {
		res.Status = planbot.StatusPlanned
	}
	return res, nil
}

// Prepare readies dir, a fresh checkout of the commit a saved plan was
// made from, for [Runner.Apply] of that plan: it runs `terraform init
// -input=false` and selects the workspace ("" means "default"), creating
// it when missing, exactly as Plan does before planning. Modules,
// providers and the backend are set up again from the checkout and its
// dependency lock file, so a plan file made by another planbot process
// applies here as it would have where it was planned.
//
// Applying without Prepare can go wrong silently: terraform needs no init
// for a configuration without modules, providers or a backend, and with
// no workspace selected it would write the default workspace's state.
// Apply refuses a plan whose workspace is not the selected one.
//
// When terraform fails, the error holds its stderr.
func (r *Runner) Prepare(ctx context.Context, dir, workspace string, opts ...RunOption) error {
	if workspace == "" {
		workspace = "default"
	}
	if err := validWorkspace(workspace); err != nil {
		return err
	}
	s, err := r.open(dir, opts...)
	if err != nil {
		return err
	}
	defer s.close()
	if step, err := s.prepare(ctx, workspace); err != nil {
		return fmt.Errorf("terraform %s failed in %s: %w\n%s", step, dir, err, s.stderrText(nil))
	}
	return nil
}

// prepare runs init and selects workspace, which must be valid, in the
// run's directory: the steps before a plan or an apply. On failure it
// returns the step that failed, "init" or "workspace".
func (s *run) prepare(ctx context.Context, workspace string) (step string, err error) {
	if err := s.do(ctx, "init", func(ctx context.Context) error {
		// tfexec passes -input=false. Init has no -lock-timeout since
		// Terraform 0.15.
		return s.tf.Init(ctx)
	}); err != nil {
		return "init", err
	}
	// Select even "default": the directory may have been used for
	// another workspace before.
	if err := s.selectWorkspace(ctx, workspace); err != nil {
		return "workspace", err
	}
	return "", nil
}

// selectWorkspace selects workspace, creating it when it does not exist.
//
// The backend is asked for its workspaces only when workspace is not
// "default": backends without workspaces (http, for one) refuse to list
// them, and their only state is the default one. `workspace show` reads
// the selection that init left in the directory and never asks the
// backend.
func (s *run) selectWorkspace(ctx context.Context, workspace string) error {
	var current string
	if workspace == "default" {
		if err := s.do(ctx, "workspace show", func(ctx context.Context) error {
			var err error
			current, err = s.tf.WorkspaceShow(ctx)
			return err
		}); err != nil {
			return err
		}
		if current == workspace {
			return nil
		}
		return s.do(ctx, "workspace select", func(ctx context.Context) error {
			return s.tf.WorkspaceSelect(ctx, workspace)
		})
	}
	var list []string
	if err := s.do(ctx, "workspace list", func(ctx context.Context) error {
		var err error
		list, current, err = s.tf.WorkspaceList(ctx)
		return err
	}); err != nil {
		return err
	}
	if current == workspace {
		return nil
	}
	for _, w := range list {
		if w == workspace {
			return s.do(ctx, "workspace select", func(ctx context.Context) error {
				return s.tf.WorkspaceSelect(ctx, workspace)
			})
		}
	}
	return s.do(ctx, "workspace new", func(ctx context.Context) error {
		return s.tf.WorkspaceNew(ctx, workspace, tfexec.LockTimeout(s.r.lockTimeout()))
	})
}

// validWorkspace reports an EINVALID error unless name is a workspace
// name terraform accepts: letters, digits, '-', '_' and '.', not starting
// with '-' (it would be read as a flag).
func validWorkspace(name string) error {
	ok := name != "" && len(name) <= 90 && name[0] != '-'
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			ok = false
		}
	}
	if !ok {
		return planbot.Errorf(planbot.EINVALID, "invalid workspace name %q", name)
	}
	return nil
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
