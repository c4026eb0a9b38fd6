package workspaces

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Output limits of one git process.
const (
	maxStdout = 64 << 20
	maxStderr = 64 << 10
)

// globalArgs come before every git subcommand. They switch off anything a
// repository or the host could configure to run code or ask for
// credentials, and git's automatic garbage collection, which could
// otherwise run detached and race with the next command.
var globalArgs = []string{
	"-c", "credential.helper=",
	"-c", "core.askPass=",
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.fsmonitor=false",
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
	"-c", "protocol.ext.allow=never",
	"-c", "advice.detachedHead=false",
}

// passEnv lists the host variables git may see besides PATH; all concern
// reaching the remote over HTTPS.
var passEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO",
}

// authHeader returns the http.extraHeader value that authenticates as an
// installation.
func authHeader(token string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
}

// command builds, without running it, `git <args>` in dir. When token is
// not empty it reaches git only through the environment.
func (m *Manager) command(ctx context.Context, dir, token string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, m.git, append(append([]string(nil), globalArgs...), args...)...)
	cmd.Dir = dir
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(m.root, "home"),
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_OPTIONAL_LOCKS=0",
	}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if token != "" {
		env = append(env,
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0="+authHeader(token),
		)
	}
	cmd.Env = env
	setProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// GitError is a failed git command. Stderr has any token redacted.
type GitError struct {
	// Args are git's arguments after the global -c options.
	Args   []string
	Stderr string
	Err    error
}

// Error implements the error interface.
func (e *GitError) Error() string {
	msg := "git " + strings.Join(e.Args, " ") + ": " + e.Err.Error()
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the process error.
func (e *GitError) Unwrap() error { return e.Err }

// run runs `git <args>` in dir and returns its standard output.
func (m *Manager) run(ctx context.Context, dir, token string, args ...string) ([]byte, error) {
	return m.runInput(ctx, dir, token, nil, args...)
}

// runInput is run with stdin as git's standard input (none when nil).
func (m *Manager) runInput(ctx context.Context, dir, token string, stdin []byte, args ...string) ([]byte, error) {
	cmd := m.command(ctx, dir, token, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stdout := &limitedBuffer{max: maxStdout}
	stderr := &limitedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	m.logger.Debug("git", "args", args, "dir", dir)
	err := cmd.Run()
	if err == nil && stdout.truncated {
		err = fmt.Errorf("output larger than %d bytes", maxStdout)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, &GitError{Args: args, Stderr: redact(stderr.String(), token), Err: err}
	}
	return stdout.Bytes(), nil
}

// redact removes token, in clear and in its header encoding, from s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token)), "[REDACTED]")
	return strings.ReplaceAll(s, token, "[REDACTED]")
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest.
type limitedBuffer struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
