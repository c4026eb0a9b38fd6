package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/planbot/planbot"
)

// Apply applies the saved plan planFile (absolute, or relative to dir) in
// dir and returns terraform's output. It refuses, with an ECONFLICT
// error, a plan file whose SHA-256 is not wantSHA256: the plan must be
// exactly the one that was reviewed. The file is copied to a private
// directory after it is checked, so it cannot change between the check
// and the apply.
//
// Apply also refuses, with an ECONFLICT error, a plan made in another
// workspace than the one selected in dir, which terraform itself would
// apply to the selected workspace's state. A directory other than the
// one planned in must first be readied with [Runner.Prepare].
//
// In dry-run mode (Runner.DryRun) Apply makes the same checks and then
// returns an error wrapping planbot.ErrDryRun instead of running
// `terraform apply`: no apply process is started.
//
// Applying a saved plan never prompts; tfexec also passes -input=false.
// When terraform fails, the returned output ends with its stderr and the
// error wraps the failure.
func (r *Runner) Apply(ctx context.Context, dir, planFile, wantSHA256 string, opts ...RunOption) (output string, err error) {
	if wantSHA256 == "" {
		return "", planbot.Errorf(planbot.EINVALID, "no plan digest to check the plan file against; plan again")
	}
	s, err := r.open(dir, opts...)
	if err != nil {
		return "", err
	}
	defer s.close()
	if !filepath.IsAbs(planFile) {
		planFile = filepath.Join(s.dir, planFile)
	}
	b, err := os.ReadFile(planFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", planbot.Errorf(planbot.ENOTFOUND, "the saved plan is gone; plan again")
	}
	if err != nil {
		return "", fmt.Errorf("terraform apply: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, wantSHA256) {
		return "", planbot.Errorf(planbot.ECONFLICT, "the saved plan changed since it was planned (sha256 %s, want %s); plan again", got, wantSHA256)
	}
	private := filepath.Join(s.home, PlanFileName)
	if err := os.WriteFile(private, b, 0o600); err != nil {
		return "", fmt.Errorf("terraform apply: %w", err)
	}
	if err := s.checkWorkspace(ctx, b); err != nil {
		return "", err
	}
	if r.DryRun {
		r.logger().Info("dry run: terraform apply", "project", s.dir, "plan_sha256", wantSHA256)
		return "", fmt.Errorf("terraform apply: %w", planbot.ErrDryRun)
	}

	out := newBoundedBuffer(r.outputLimit())
	s.tf.SetStdout(s.tee("apply", out))
	err = s.do(ctx, "apply", func(ctx context.Context) error {
		return s.tf.Apply(ctx, tfexec.DirOrPlan(private), tfexec.LockTimeout(r.lockTimeout()))
	})
	s.tf.SetStdout(nil)
	output = strings.TrimSpace(out.String())
	if err != nil {
		if e := strings.TrimSpace(s.stderr.String()); e != "" {
			output = strings.TrimSpace(output + "\n\n" + e)
		}
		return output, err
	}
	return output, nil
}

// checkWorkspace returns an ECONFLICT error unless the workspace selected
// in the run's directory is the one the plan file planFile was made in.
// When the plan file's workspace cannot be read (a future plan format),
// it logs a warning and lets terraform decide.
func (s *run) checkWorkspace(ctx context.Context, planFile []byte) error {
	want, err := planWorkspace(planFile)
	if err != nil {
		s.r.logger().Warn("terraform apply: workspace of the saved plan unknown; not checked", "project", s.dir, "err", err)
		return nil
	}
	current, err := s.currentWorkspace(ctx)
	if err != nil {
		return fmt.Errorf("terraform apply: %w", err)
	}
	if current != want {
		return planbot.Errorf(planbot.ECONFLICT, "the saved plan is for workspace %q but workspace %q is selected; refusing to apply it to the wrong state", want, current)
	}
	return nil
}
