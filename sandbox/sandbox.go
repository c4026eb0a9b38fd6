// Package sandbox confines the programs planbot runs on behalf of a pull
// request (terraform and what it starts) to the files that run needs.
//
// The model: planbot never restricts itself. To start a confined program
// it starts its own executable again (the helper) with a [Policy] in the
// environment variable [EnvVar]. The helper's first act, in [RunHelper],
// is to read the policy, restrict itself with Linux Landlock (read and
// execute on the program and the system paths it needs, read-write on the
// run's own directories, nothing else; the network stays open), add the
// policy's environment and exec the program. The restriction survives the
// exec and is inherited by every process the program starts, and it can
// only ever be narrowed. The policy is removed from the environment before
// the exec, so the program never sees it.
//
// The helper is the small planbot-sandbox program when it is installed
// next to planbot (it starts in a few milliseconds), and planbot's own
// binary otherwise. So every main that can start a confined program, and
// every test binary that does, must call RunHelper before anything else.
//
// With [ModeOff] the helper still adds the environment and execs the
// program, without any restriction: the credentials a run gets are
// delivered the same way in both modes.
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/planbot/planbot"
)

// EnvVar is the environment variable that carries a [Policy] from planbot
// to the helper.
const EnvVar = "PLANBOT_SANDBOX_POLICY"

// Mode says whether programs are confined.
type Mode string

const (
	// ModeLandlock confines programs with Linux Landlock.
	ModeLandlock Mode = "landlock"
	// ModeOff runs programs unconfined.
	ModeOff Mode = "off"
)

// ParseMode parses the value of --sandbox.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeLandlock, ModeOff:
		return m, nil
	}
	return "", planbot.Errorf(planbot.EINVALID, "invalid sandbox %q: want landlock or off", s)
}

// Policy is what one confined program may do.
type Policy struct {
	// Program is the absolute path of the program to run.
	Program string `json:"program"`
	// Landlock reports whether the program is confined. When false, only
	// Env is applied.
	Landlock bool `json:"landlock"`
	// Read lists files and directories the program may read and execute.
	Read []string `json:"read,omitempty"`
	// Write lists files and directories the program may read, write,
	// create in, and execute from.
	Write []string `json:"write,omitempty"`
	// Env is added to the program's environment, replacing variables of
	// the same name. It may hold secrets: it exists only in the helper's
	// memory and the program's environment.
	Env map[string]string `json:"env,omitempty"`
}

// SystemRead is the default list of system paths a confined program may
// read and execute: shared libraries and binaries, CA certificates, name
// resolution, time zones, and the user database. Missing paths are
// ignored. It deliberately names files and narrow directories of /etc
// rather than /etc itself, and /etc/ssl/certs rather than /etc/ssl (which
// holds private keys).
var SystemRead = []string{
	"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
	"/etc/ssl/certs", "/etc/ssl/cert.pem", "/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/certs", "/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted",
	"/etc/ca-certificates", "/etc/ca-certificates.conf",
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
	"/etc/localtime", "/etc/timezone", "/etc/passwd", "/etc/group", "/etc/mime.types",
	"/dev/urandom", "/dev/random", "/dev/zero",
}

// SystemWrite is the default list of system paths a confined program may
// write to.
var SystemWrite = []string{"/dev/null"}

// Sandbox starts programs under policies. Its fields are read-only once it
// is in use.
type Sandbox struct {
	// Mode is ModeLandlock or ModeOff.
	Mode Mode
	// Helper is the executable that runs RunHelper first: planbot itself
	// (os.Executable), or a test binary whose TestMain calls it.
	Helper string
	// SystemRead and SystemWrite replace the package defaults when not
	// nil.
	SystemRead, SystemWrite []string
}

// HelperName is the file name of the standalone helper (cmd/planbot-sandbox)
// that New looks for next to the running executable.
const HelperName = "planbot-sandbox"

// New returns a Sandbox in mode. Its helper is HelperName when that lies
// next to the running executable, and the running executable itself
// otherwise. In ModeLandlock it fails, naming --sandbox=off, when the
// kernel does not support Landlock.
func New(mode Mode) (*Sandbox, error) {
	if mode == ModeLandlock {
		if err := Supported(); err != nil {
			return nil, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: find planbot's executable: %w", err)
	}
	helper := exe
	if standalone := filepath.Join(filepath.Dir(exe), HelperName); isExecutable(standalone) {
		helper = standalone
	}
	return &Sandbox{Mode: mode, Helper: helper}, nil
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Confined reports whether programs are confined.
func (s *Sandbox) Confined() bool { return s != nil && s.Mode == ModeLandlock }

// Command returns the path to execute and the variable to add to its
// environment so that program runs under the policy: read and execute on
// program, read plus the system paths, and write. env is added to the
// program's environment.
func (s *Sandbox) Command(program string, read, write []string, env map[string]string) (path, envKey, envValue string, err error) {
	if s == nil || s.Helper == "" {
		return "", "", "", errors.New("sandbox: no helper executable configured")
	}
	if !filepath.IsAbs(program) {
		return "", "", "", fmt.Errorf("sandbox: program %q is not an absolute path", program)
	}
	p := Policy{Program: program, Landlock: s.Confined(), Env: env}
	if p.Landlock {
		sysRead, sysWrite := s.SystemRead, s.SystemWrite
		if sysRead == nil {
			sysRead = SystemRead
		}
		if sysWrite == nil {
			sysWrite = SystemWrite
		}
		p.Read = append(append([]string{program}, sysRead...), read...)
		p.Write = append(append([]string{}, sysWrite...), write...)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", "", "", fmt.Errorf("sandbox: %w", err)
	}
	return s.Helper, EnvVar, string(b), nil
}

// Exposed returns an EINVALID error naming the first of paths that a
// confined program could read: one that lies under a system path of the
// policy. Secrets (the App key, the webhook secret, the database, the
// credentials directory) must not.
func (s *Sandbox) Exposed(paths ...string) error {
	if !s.Confined() {
		return nil
	}
	read := s.SystemRead
	if read == nil {
		read = SystemRead
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		for _, allowed := range read {
			ar := allowed
			if r, err := filepath.EvalSymlinks(allowed); err == nil {
				ar = r
			}
			if abs == ar || strings.HasPrefix(abs, strings.TrimSuffix(ar, "/")+"/") {
				return planbot.Errorf(planbot.EINVALID, "%s is under %s, which sandboxed terraform may read; move it elsewhere (for example under /etc/planbot or /var/lib/planbot)", p, allowed)
			}
		}
	}
	return nil
}

// policyFromEnv decodes the policy in value.
func policyFromEnv(value string) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(strings.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %w", err)
	}
	if !filepath.IsAbs(p.Program) {
		return Policy{}, fmt.Errorf("policy program %q is not absolute", p.Program)
	}
	return p, nil
}

// environ returns the helper's environment without EnvVar, with p.Env
// added.
func (p Policy) environ(current []string) []string {
	out := make([]string, 0, len(current)+len(p.Env))
	for _, kv := range current {
		k, _, _ := strings.Cut(kv, "=")
		if k == EnvVar {
			continue
		}
		if _, ok := p.Env[k]; ok {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range p.Env {
		out = append(out, k+"="+v)
	}
	return out
}

// Best returns the strongest mode this kernel enforces: ModeLandlock when
// it has Landlock, ModeOff otherwise. The local commands (planbot plan,
// planbot drift --local) use it; the server is told its mode.
func Best() Mode {
	if Supported() != nil {
		return ModeOff
	}
	return ModeLandlock
}
