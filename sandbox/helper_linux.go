package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/planbot/planbot"
)

// config is the Landlock configuration of a confined program: every file
// system right the kernel knows and both IPC scopes (signals and abstract
// UNIX sockets outside the sandbox), but no network rights, so providers
// can reach their APIs. BestEffort drops what an older kernel lacks.
var config = landlock.Config{
	HandledAccessFS: landlock.V11.HandledAccessFS,
	Scoped:          landlock.V11.Scoped,
}.BestEffort()

// Supported returns an error, naming --sandbox=off, unless the kernel
// enforces Landlock.
func Supported() error {
	v, err := llsyscall.LandlockGetABIVersion()
	if err != nil || v < 1 {
		return planbot.Errorf(planbot.EINVALID, "this kernel does not enforce Landlock (needed by --sandbox=landlock to confine terraform: Linux 5.13 or later with landlock in the lsm= boot parameter); run planbot on such a kernel, or start it with --sandbox=off and accept that plans can read what planbot's user can")
	}
	return nil
}

// RunHelper returns at once unless this process was started as the
// sandbox helper, with a policy in EnvVar. Then it restricts the process
// as the policy says and executes the policy's program in its place; it
// never returns. If anything fails it writes the reason to stderr and
// exits with status 126, so the program never runs unconfined by
// mistake.
func RunHelper() {
	value, ok := os.LookupEnv(EnvVar)
	if !ok {
		return
	}
	// Landlock and no_new_privs are set per thread: restrict this one
	// and exec from it. It is never unlocked.
	runtime.LockOSThread()
	err := helper(value)
	fmt.Fprintf(os.Stderr, "planbot sandbox: %v\n", err)
	os.Exit(126)
}

func helper(value string) error {
	p, err := policyFromEnv(value)
	if err != nil {
		return err
	}
	if p.Landlock {
		if err := restrict(p); err != nil {
			return err
		}
	}
	err = syscall.Exec(p.Program, append([]string{p.Program}, os.Args[1:]...), p.environ(os.Environ()))
	return fmt.Errorf("exec %s: %w", p.Program, err)
}

// restrict confines the calling thread to p's paths.
func restrict(p Policy) error {
	rules, err := appendRules(nil, p.Read, false)
	if err == nil {
		rules, err = appendRules(rules, p.Write, true)
	}
	if err != nil {
		return err
	}
	fd, flags, err := config.NewRulesetFD(rules...)
	if err != nil {
		return fmt.Errorf("landlock ruleset: %w", err)
	}
	if fd < 0 {
		return errors.New("landlock: this kernel enforces nothing; refusing to run unconfined")
	}
	defer unix.Close(fd)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if err := llsyscall.LandlockRestrictSelf(fd, flags); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return nil
}

// appendRules appends to rules the rules for paths, read-only or
// writable, leaving out the paths that do not exist.
func appendRules(rules []landlock.Rule, paths []string, write bool) ([]landlock.Rule, error) {
	for _, path := range paths {
		r, err := rule(path, write)
		if err != nil {
			return nil, err
		}
		if r != nil {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// rule returns the rule for one path, or nil for a path that does not
// exist. Files and directories get the rights that apply to them.
func rule(path string, write bool) (landlock.Rule, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("landlock rule %s: %w", path, err)
	}
	switch {
	case fi.IsDir() && write:
		// Refer lets terraform rename and link between directories of
		// the run (module and provider installation do); ResolveUnix lets
		// providers reach their plugin sockets in the run's TMPDIR.
		return landlock.RWDirs(path).WithRefer().WithResolveUnix(), nil
	case fi.IsDir():
		return landlock.RODirs(path), nil
	case write:
		return landlock.RWFiles(path), nil
	default:
		return landlock.ROFiles(path), nil
	}
}

// SetNonDumpable marks this process as not dumpable: processes of the
// same user can then neither read its memory nor its /proc environ, nor
// attach a debugger to it.
func SetNonDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}
