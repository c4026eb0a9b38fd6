package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/sandbox"
)

// DefaultLockTimeout is how long terraform waits for the state lock when
// Runner.LockTimeout is zero.
const DefaultLockTimeout = 5 * time.Minute

// Runner runs terraform in project directories. Its fields are read-only
// once it is in use; a Runner is safe for concurrent use on different
// directories.
type Runner struct {
	// Bin is the path of the binary that runs the projects whose
	// configuration names no engine (see FindBinary), and Engine is its
	// engine ("" is terraform).
	Bin    string
	Engine planbot.Engine
	// Others are the binaries of the other engines, for the projects
	// that name one in .planbot.yaml (see FindBinaries). A project whose
	// engine has no binary fails with an error that says how to install
	// one.
	Others map[planbot.Engine]string
	// PluginCacheDir, when set, is a read-only provider mirror (the
	// layout `terraform providers mirror` writes) that terraform installs
	// providers from before it downloads them; it is created if missing.
	// Providers a run downloads stay in that run's directory: no run can
	// write anything that another run executes.
	PluginCacheDir string
	// Sandbox, when set, starts every terraform process through its
	// helper: confined to the run's directories when it is in
	// sandbox.ModeLandlock, and with the run's credentials (see Env) in
	// either mode. Without it, terraform runs unconfined and Env is
	// refused.
	Sandbox *sandbox.Sandbox
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
	// InitCache, when set, lets a plan run with CacheScope skip `terraform
	// init` when an earlier init of the same inputs is cached (see
	// InitCache). Applies never use it.
	InitCache *InitCache
	// Logger receives one record per terraform command. Nil discards.
	Logger *slog.Logger
	// Versions, when set, remembers what Version learnt of each binary.
	Versions *VersionMemo
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

// RunOption configures one Plan, Prepare or Apply.
type RunOption func(*runOptions)

type runOptions struct {
	env    map[string]string
	root   string
	engine planbot.Engine
	output io.Writer // see Output
	scope  string
	// readOnly gives the run read access to its checkout, not write.
	readOnly bool
	// formatted, when set, is the outcome of the formatting check, made
	// already (see Formatted).
	formatted *string
	// fmtSlot, when set, may give the formatting check a slot of its own
	// (see FmtBeside).
	fmtSlot func() (release func(), ok bool)
}

// UseEngine runs the project with engine e's binary; "" (and no
// UseEngine) means Bin.
func UseEngine(e planbot.Engine) RunOption {
	return func(o *runOptions) { o.engine = e }
}

// Formatted tells Plan that the formatting check of its directory was
// made already (see FmtCheck), with output out: Plan does not check again.
func Formatted(out string) RunOption {
	return func(o *runOptions) { o.formatted = &out }
}

// FmtBeside lets Plan run its formatting check beside init and plan,
// instead of before them, when try gives it a slot of its own at that
// moment: a second terraform process, which the slots bound like any
// other. try returns false at once when no slot is free (it must not
// wait), and the check then runs first and alone, as without FmtBeside.
// The output is the same either way.
func FmtBeside(try func() (release func(), ok bool)) RunOption {
	return func(o *runOptions) { o.fmtSlot = try }
}

// CacheScope lets a plan use the Runner's InitCache, sharing entries only
// with plans of the same scope (planbot passes the repository) and the
// same credentials.
func CacheScope(scope string) RunOption {
	return func(o *runOptions) { o.scope = scope }
}

// Root names the checkout that holds the project directory: the run may
// write anywhere in it (modules are read from sibling directories) and
// nowhere else. Without it, the nearest ancestor with a .git entry is the
// root, or the project directory itself.
func Root(dir string) RunOption {
	return func(o *runOptions) { o.root = dir }
}

// Env adds variables to the environment of every terraform process of the
// run, TF_VAR_* included: the plan or apply credentials. They are passed
// only through the sandbox helper, never on a command line.
func Env(env map[string]string) RunOption {
	return func(o *runOptions) { o.env = env }
}

// run is one use of terraform in one directory: its tfexec handle,
// its private HOME and the bounded stderr of its latest command.
type run struct {
	r *Runner
	// dir is the project directory; root is the checkout it belongs to.
	dir, root string
	home      string
	// engine runs the project, from bin.
	engine planbot.Engine
	bin    string
	// exec is the program started for terraform: the sandbox helper, or
	// terraform itself.
	exec string
	env  map[string]string
	// dataDir reports whether TF_DATA_DIR reaches terraform (allowlisted
	// or a credential), so that its data directory is not ".terraform".
	dataDir bool
	// scope is CacheScope's; envDigest digests the environment and the
	// credentials of the run (see setup).
	scope, envDigest string
	formatted        *string
	fmtSlot          func() (release func(), ok bool)
	tf               *tfexec.Terraform
	stderr           *boundedBuffer
	// output receives what init, plan and apply print (see Output).
	output io.Writer
}

// open prepares a run in dir. The caller must call close.
func (r *Runner) open(dir string, opts ...RunOption) (*run, error) {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	engine, bin, err := r.binary(o.engine)
	if err != nil {
		return nil, err
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
	root := checkoutRoot(abs)
	if o.root != "" {
		if root, err = filepath.Abs(o.root); err != nil {
			os.RemoveAll(home)
			return nil, fmt.Errorf("terraform: %w", err)
		}
	}
	s := &run{r: r, dir: abs, root: root, home: home, engine: engine, bin: bin, exec: bin, scope: o.scope, formatted: o.formatted, fmtSlot: o.fmtSlot, stderr: newBoundedBuffer(r.outputLimit()), output: o.output}
	if err := s.setup(o); err != nil {
		os.RemoveAll(home)
		return nil, err
	}
	tf, err := tfexec.NewTerraform(abs, s.exec)
	if err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("terraform: %w", err)
	}
	// SetEnv replaces os.Environ() entirely (tfexec's buildEnv only falls
	// back to os.Environ() when no env was set); tfexec then adds only
	// TF_IN_AUTOMATION=1, TF_APPEND_USER_AGENT and empty TF_LOG*.
	if err := tf.SetEnv(s.env); err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("terraform: %w", err)
	}
	s.tf = tf
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

// setup writes the run's HOME (a temporary directory and the CLI
// configuration) and builds its environment and the program to start.
func (s *run) setup(o runOptions) error {
	r := s.r
	tmp := filepath.Join(s.home, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("terraform: tmp: %w", err)
	}
	cliConfig, err := writeCLIConfig(s.home, r.PluginCacheDir)
	if err != nil {
		return err
	}
	env, dropped := Environ(os.Environ(), s.home, r.EnvAllowlist)
	if len(dropped) > 0 {
		r.logger().Warn("terraform: variables not passed to terraform", "names", strings.Join(dropped, ","))
	}
	s.envDigest = envDigest(env, o.env)
	env["TMPDIR"] = tmp
	if cliConfig != "" {
		env["TF_CLI_CONFIG_FILE"] = cliConfig
	}
	s.env = env
	_, inEnv := env["TF_DATA_DIR"]
	_, inCreds := o.env["TF_DATA_DIR"]
	s.dataDir = inEnv || inCreds
	if r.Sandbox == nil {
		if len(o.env) > 0 {
			return planbot.Errorf(planbot.EINVALID, "terraform: credentials can only be passed through the sandbox helper")
		}
		return nil
	}
	if r.Sandbox.Confined() {
		// terraform runs git for git:: module sources, and git stops when
		// it cannot read /etc/gitconfig, which the sandbox hides.
		env["GIT_CONFIG_NOSYSTEM"] = "1"
	}
	var read []string
	if r.PluginCacheDir != "" {
		read = append(read, r.PluginCacheDir)
	}
	write := []string{s.root, s.home}
	if o.readOnly {
		read, write = append(read, s.root), []string{s.home}
	}
	path, k, v, err := r.Sandbox.Command(s.bin, read, write, o.env)
	if err != nil {
		return fmt.Errorf("terraform: %w", err)
	}
	s.exec = path
	env[k] = v
	return nil
}

// CLIConfigName is the name of the CLI configuration planbot writes into
// a run's private HOME and names in TF_CLI_CONFIG_FILE, which terraform
// and OpenTofu both read (OpenTofu would otherwise prefer ~/.tofurc to
// ~/.terraformrc).
const CLIConfigName = "planbot.tfrc"

// writeCLIConfig writes the CLI configuration into home and returns its
// path, "" when there is none: providers come from the read-only mirror
// when it has them, else from their registries into the run's own
// directory. No plugin_cache_dir is set, so nothing a run downloads is
// shared.
func writeCLIConfig(home, mirror string) (string, error) {
	if mirror == "" {
		return "", nil
	}
	cfg := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n  direct {}\n}\n", mirror)
	path := filepath.Join(home, CLIConfigName)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("terraform: CLI configuration: %w", err)
	}
	return path, nil
}

// checkoutRoot returns the top of the git checkout that holds dir (the
// nearest ancestor with a .git entry), or dir itself outside a checkout:
// a run may write anywhere in its own checkout, since modules are read
// from sibling directories, and nowhere else.
func checkoutRoot(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

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
		return fmt.Errorf("%s %s: %w", s.engine.Command(), command, err)
	}
	log.Debug("terraform command done")
	return nil
}

// command builds an exec.Cmd for a terraform command that planbot runs
// itself, with the run's environment and directory, writing to stdout and
// stderr.
func (s *run) command(args []string, stdout, stderr io.Writer) *exec.Cmd {
	cmd := exec.Command(s.exec, args...)
	cmd.Dir = s.dir
	cmd.Env = commandEnv(s.env)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	return cmd
}

// runArgs runs terraform with args in the run's directory, in its own
// process group, writing its standard output to stdout (which may be
// nil) and keeping its stderr for stderrText. It logs the command like
// do. A non-zero exit is an *exec.ExitError, wrapped.
//
// planbot starts these commands itself, not through tfexec: tfexec asks
// terraform for its version (one more process) before the first command
// of each instance, only to check flags that planbot does not use.
func (s *run) runArgs(ctx context.Context, command string, args []string, stdout io.Writer) error {
	s.stderr = newBoundedBuffer(s.r.outputLimit())
	cmd := s.command(args, s.tee(command, stdout), s.tee(command, s.stderr))
	start := time.Now()
	err := runCommand(ctx, cmd, s.r.killGrace())
	log := s.r.logger().With("project", s.dir, "command", command, "duration", time.Since(start))
	if err != nil {
		log.Info("terraform command failed", "err", err)
		return fmt.Errorf("%s %s: %w", s.engine.Command(), command, err)
	}
	log.Debug("terraform command done")
	return nil
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
