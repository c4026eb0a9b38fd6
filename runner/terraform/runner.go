package terraform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hc-install/fs"
	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/planbot/planbot"
)

// DefaultLockTimeout is how long terraform waits for the state lock when
// Runner.LockTimeout is zero.
const DefaultLockTimeout = 5 * time.Minute

// Runner runs terraform in project directories. Its fields are read-only
// once it is in use; a Runner is safe for concurrent use on different
// directories.
type Runner struct {
	// Bin is the path of the terraform binary (see FindBinary).
	Bin string
	// PluginCacheDir, when set, is passed as TF_PLUGIN_CACHE_DIR and
	// created if missing.
	PluginCacheDir string
	// EnvAllowlist names extra variables copied from planbot's own
	// environment to terraform's (cloud credentials, for instance). Names
	// starting with PLANBOT_ and those tfexec reserves are never copied.
	EnvAllowlist []string
	// OutputLimit is the number of bytes kept of any one output (plan
	// text, fmt diff, error); the head and the tail are kept. Zero means
	// DefaultOutputLimit.
	OutputLimit int
	// LockTimeout is passed as -lock-timeout; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// KillGrace is how long terraform has to exit after it is
	// interrupted because its context ended, before its process group is
	// killed. Zero means DefaultKillGrace.
	KillGrace time.Duration
	// DryRun makes Apply check the saved plan and stop short of
	// `terraform apply`, returning an error that wraps planbot.ErrDryRun.
	// Plans are read-only and run as usual.
	DryRun bool
	// Logger receives one record per terraform command. Nil discards.
	Logger *slog.Logger
}

// FindBinary returns the absolute path of the terraform binary: explicit
// when it is set and executable, else the first terraform on PATH. It
// never downloads terraform.
func FindBinary(ctx context.Context, explicit string) (string, error) {
	var av *fs.AnyVersion
	if explicit != "" {
		abs, err := filepath.Abs(explicit)
		if err != nil {
			return "", planbot.Errorf(planbot.EINVALID, "terraform binary %q: %v", explicit, err)
		}
		av = &fs.AnyVersion{ExactBinPath: abs}
	} else {
		av = &fs.AnyVersion{Product: &product.Terraform}
	}
	if err := av.Validate(); err != nil {
		return "", fmt.Errorf("find terraform: %w", err)
	}
	path, err := av.Find(ctx)
	if err != nil {
		e := planbot.Errorf(planbot.ENOTFOUND, "no terraform binary on PATH; install terraform or name the binary explicitly")
		if explicit != "" {
			e = planbot.Errorf(planbot.ENOTFOUND, "terraform binary %q is missing or not executable", explicit)
		}
		e.Err = err
		return "", e
	}
	return path, nil
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) outputLimit() int {
	if r.OutputLimit <= 0 {
		return DefaultOutputLimit
	}
	return r.OutputLimit
}

func (r *Runner) killGrace() time.Duration {
	if r.KillGrace <= 0 {
		return DefaultKillGrace
	}
	return r.KillGrace
}

func (r *Runner) lockTimeout() string {
	d := r.LockTimeout
	if d <= 0 {
		d = DefaultLockTimeout
	}
	return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
}

// run is one use of terraform in one directory: its tfexec handle,
// its private HOME and the bounded stderr of its latest command.
type run struct {
	r      *Runner
	dir    string
	home   string
	env    map[string]string
	tf     *tfexec.Terraform
	stderr *boundedBuffer
}

// open prepares a run in dir. The caller must call close.
func (r *Runner) open(dir string) (*run, error) {
	if r.Bin == "" {
		return nil, planbot.Errorf(planbot.EINVALID, "terraform binary not configured")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "project directory %s does not exist", dir)
	}
	if r.PluginCacheDir != "" {
		if err := os.MkdirAll(r.PluginCacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("terraform: plugin cache: %w", err)
		}
	}
	home, err := os.MkdirTemp("", "planbot-home-")
	if err != nil {
		return nil, fmt.Errorf("terraform: home: %w", err)
	}
	env, dropped := Environ(os.Environ(), home, r.PluginCacheDir, r.EnvAllowlist)
	if len(dropped) > 0 {
		r.logger().Warn("terraform: variables not passed to terraform", "names", strings.Join(dropped, ","))
	}
	tf, err := tfexec.NewTerraform(abs, r.Bin)
	if err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("terraform: %w", err)
	}
	// SetEnv replaces os.Environ() entirely (tfexec's buildEnv only falls
	// back to os.Environ() when no env was set); tfexec then adds only
	// TF_IN_AUTOMATION=1, TF_APPEND_USER_AGENT and empty TF_LOG*.
	if err := tf.SetEnv(env); err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("terraform: %w", err)
	}
	s := &run{r: r, dir: abs, home: home, env: env, tf: tf, stderr: newBoundedBuffer(r.outputLimit())}
	tf.SetStderr(s.stderr)
	// The process group is ended by watchGroups; tfexec's own wait delay
	// only matters where that cannot find the group.
	if err := tf.SetWaitDelay(r.killGrace()); err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("terraform: %w", err)
	}
	return s, nil
}

func (s *run) close() { os.RemoveAll(s.home) }

// do runs one tfexec command f. f gets a context that is cancelled only
// after planbot has interrupted and, if need be, killed the command's
// whole process group (see childGroups); ctx's values carry over.
func (s *run) do(ctx context.Context, command string, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.stderr = newBoundedBuffer(s.r.outputLimit())
	s.tf.SetStderr(s.stderr)
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := watchGroups(ctx, s.r.killGrace(), func() []int { return childGroups(s.home) }, cancel)
	start := time.Now()
	err := f(tctx)
	stop()
	log := s.r.logger().With("project", s.dir, "command", command, "duration", time.Since(start))
	if ctx.Err() != nil {
		err = errors.Join(ctx.Err(), err)
	}
	if err != nil {
		log.Info("terraform command failed", "err", err)
		return fmt.Errorf("terraform %s: %w", command, err)
	}
	log.Debug("terraform command done")
	return nil
}

// command builds an exec.Cmd for a terraform command that tfexec cannot
// run as needed, with the run's environment and directory.
func (s *run) command(args []string, stdout *boundedBuffer) *exec.Cmd {
	cmd := exec.Command(s.r.Bin, args...)
	cmd.Dir = s.dir
	cmd.Env = commandEnv(s.env)
	cmd.Stdout = stdout
	s.stderr = newBoundedBuffer(s.r.outputLimit())
	cmd.Stderr = s.stderr
	return cmd
}

// stderrText returns what the latest command wrote to stderr, or err's
// text when it wrote nothing.
func (s *run) stderrText(err error) string {
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		return t
	}
	if err != nil {
		return limit(err.Error(), s.r.outputLimit())
	}
	return ""
}

// isExit reports whether err says that terraform ran and exited non-zero,
// as opposed to not running at all or being stopped.
func isExit(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Exited()
}
