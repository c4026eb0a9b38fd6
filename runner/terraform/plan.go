package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
	// The formatting check runs first, and alone: a plan runs a second
	// terraform process only in a slot of its own (see FmtBeside), so
	// that --parallelism bounds them.
	switch {
	case s.formatted != nil:
		res.Fmt = *s.formatted
	case destroy:
	case s.fmtSlot != nil:
		if release, ok := s.fmtSlot(); ok {
			wait := s.fmtBeside(ctx, release)
			res, err := r.initAndPlan(ctx, s, res, workspace, planFile, destroy)
			out, fmtErr := wait()
			res.Fmt = out
			if fmtErr != nil && err == nil {
				return r.fmtFailed(ctx, s, res, fmtErr)
			}
			return res, err
		}
		fallthrough
	default:
		out, err := s.fmtCheck(ctx)
		res.Fmt = out
		if err != nil {
			if res, err = r.fmtFailed(ctx, s, res, err); err != nil {
				return res, err
			}
		}
	}
	return r.initAndPlan(ctx, s, res, workspace, planFile, destroy)
}

// fmtFailed handles a failed formatting check: when ctx ended the plan
// fails with it, else (a syntax error, which terraform reports better in
// init or plan) it is logged and the plan goes on, with res as it is.
func (r *Runner) fmtFailed(ctx context.Context, s *run, res planbot.Result, err error) (planbot.Result, error) {
	if ctx.Err() != nil {
		return s.failed(ctx, res, "fmt", err)
	}
	r.logger().Info("terraform fmt check failed", "project", s.dir, "err", err)
	return res, nil
}

// fmtBeside starts the formatting check in its own slot, which it gives
// back with release when done, and returns the function that waits for
// its output.
func (s *run) fmtBeside(ctx context.Context, release func()) func() (string, error) {
	var out string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer release()
		out, err = s.fmtCheck(ctx)
	}()
	return func() (string, error) {
		<-done
		return out, err
	}
}

// initAndPlan prepares the directory (init, or the init cache, and the
// workspace), plans and reads the plan back into res.
func (r *Runner) initAndPlan(ctx context.Context, s *run, res planbot.Result, workspace, planFile string, destroy bool) (planbot.Result, error) {
	key, hit := s.restoreInit()
	lock := s.lockFile()
	var (
		step string
		err  error
	)
	if hit {
		step, err = "workspace", s.selectWorkspace(ctx, workspace)
	} else {
		step, err = s.prepare(ctx, workspace)
	}
	if err != nil {
		return s.failed(ctx, res, step, err)
	}
	if key != "" && !hit {
		s.saveInit(key, lock)
	}
	out, step, err := r.runPlan(ctx, s, planFile, destroy)
	if err != nil && hit && ctx.Err() == nil {
		// terraform plan refuses to run when .terraform does not match
		// the configuration and the lock file ("run terraform init"). The
		// key rules that out, but a failure after a skipped init is
		// retried the long way, so that it is never the cache's doing.
		r.logger().Info("plan failed after a cached init; running init", "project", s.dir, "err", err, "stderr", s.stderrText(err))
		if err := os.Remove(planFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("terraform: remove failed plan: %w", err)
		}
		if step, err = s.prepare(ctx, workspace); err == nil {
			out, step, err = r.runPlan(ctx, s, planFile, destroy)
		}
	}
	if err != nil {
		return s.failed(ctx, res, step, err)
	}
	return r.planResult(res, out)
}

// failed records in res a failure of step. The error is non-nil only when
// terraform did not run to completion.
func (s *run) failed(ctx context.Context, res planbot.Result, step string, err error) (planbot.Result, error) {
	res.Status = planbot.StatusFailed
	res.Error = fmt.Sprintf("%s %s failed:\n%s", s.engine.Command(), step, s.stderrText(err))
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

// planArgs returns the arguments of `terraform plan` that saves the plan
// in planFile: the ones tfexec's Plan passes with its default options,
// -destroy when destroy is set.
func planArgs(planFile, lockTimeout string, destroy bool) []string {
	args := []string{"plan", "-no-color", "-input=false", "-detailed-exitcode",
		"-lock-timeout=" + lockTimeout, "-out=" + planFile,
		"-lock=true", "-parallelism=10", "-refresh=true"}
	if destroy {
		args = append(args, "-destroy")
	}
	return args
}

// planStdoutLimit bounds what is kept of the standard output of `terraform
// plan`. A plan whose output is longer is shown again with `terraform
// show`, so that the text is never cut differently than show's would be.
const planStdoutLimit = 64 << 20

// runPlan saves a plan in planFile and reads it back as JSON and as text.
// On failure it returns the step that failed.
//
// The text is what `terraform plan` printed, trimmed to what `terraform
// show` prints for the saved plan (see planText); only when that cannot be
// done does runPlan run `terraform show`.
func (r *Runner) runPlan(ctx context.Context, s *run, planFile string, destroy bool) (planOutput, string, error) {
	out := planOutput{file: planFile}
	step := "plan"
	if destroy {
		step = "plan -destroy"
	}
	stdout := newBoundedBuffer(planStdoutLimit)
	err := s.runArgs(ctx, step, planArgs(planFile, r.lockTimeout(), destroy), stdout)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 2 && ctx.Err() == nil:
		// -detailed-exitcode: the plan has changes.
		out.hasChanges = true
	default:
		return out, step, err
	}
	if out.plan, err = s.showJSON(ctx, planFile); err != nil {
		return out, "show", err
	}
	text, ok := "", false
	if stdout.omitted == 0 {
		text, ok = planText(stdout.String())
	}
	if !ok {
		r.logger().Debug("terraform plan output not recognised; showing the saved plan", "project", s.dir)
		if text, err = s.showText(ctx, planFile); err != nil {
			return out, "show", err
		}
	}
	out.text = text
	return out, "", nil
}

// planOpeners are the lines that the rendering of a plan can start with,
// in `terraform plan` and `terraform show` alike (terraform's
// jsonformat.Plan.renderHuman), each after an empty line. OpenTofu
// prints the same lines with its own name.
var planOpeners = []string{
	"Terraform used the selected providers to generate the following",
	"Terraform will perform the following actions:",
	"Terraform planned the following actions, but then encountered a problem:",
	"OpenTofu used the selected providers to generate the following",
	"OpenTofu will perform the following actions:",
	"OpenTofu planned the following actions, but then encountered a problem:",
	"No changes.",
	"No current changes.",
	"Planning failed.",
	"Note: Objects have changed outside of Terraform",
	"Note: Objects have changed outside of OpenTofu",
	"Note: This is a partial plan",
	"Changes to Outputs:",
}

// planText returns the part of the standard output of `terraform plan
// -no-color` (in automation, TF_IN_AUTOMATION=1) that `terraform show
// -no-color` prints for the same saved plan, and whether it could tell
// that part apart. Plan prints, in this order:
//
//   - one progress line per operation ("x: Refreshing state... [id=1]",
//     "data.y: Reading..."), never an empty one;
//   - the rendered plan, which starts with an empty line and then one of
//     planOpeners, and is what show prints;
//   - warnings, each starting with an empty line and "Warning: ", which
//     show does not print.
//
// ok is false when the output does not have that shape; the caller then
// asks show.
func planText(stdout string) (text string, ok bool) {
	start := strings.Index(stdout, "\n\n")
	switch {
	case strings.HasPrefix(stdout, "\n"):
		start = 0
	case start < 0:
		return "", false
	default:
		start++
	}
	body := stdout[start:]
	first := strings.TrimLeft(body, "\n")
	opener := false
	for _, o := range planOpeners {
		if strings.HasPrefix(first, o) {
			opener = true
			break
		}
	}
	if !opener {
		return "", false
	}
	if i := strings.Index(body, "\n\nWarning: "); i >= 0 {
		body = body[:i+1]
	}
	return body, true
}

// planResult fills in res from a saved and shown plan.
func (r *Runner) planResult(res planbot.Result, out planOutput) (planbot.Result, error) {
	sum, err := FileSHA256(out.file)
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
		return fmt.Errorf("%s %s failed in %s: %w\n%s", s.engine.Command(), step, dir, err, s.stderrText(nil))
	}
	return nil
}

// prepare runs init and selects workspace, which must be valid, in the
// run's directory: the steps before a plan or an apply. On failure it
// returns the step that failed, "init" or "workspace".
func (s *run) prepare(ctx context.Context, workspace string) (step string, err error) {
	if err := s.init(ctx); err != nil {
		return "init", err
	}
	// Select even "default": the directory may have been used for
	// another workspace before.
	if err := s.selectWorkspace(ctx, workspace); err != nil {
		return "workspace", err
	}
	return "", nil
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

// FileSHA256 returns the hex SHA-256 of the file at path: the
// Result.PlanSHA256 of a saved plan, checked again before it is applied.
func FileSHA256(path string) (string, error) {
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
