package terraform

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// fmtArgs returns the arguments of the formatting check of one directory:
// list the files that are not formatted and show the diff, without
// writing anything or descending into subdirectories.
//
// tfexec's FormatCheck cannot be used: it always passes -diff=false, so
// the diff that planbot shows in the PR comment would be lost.
func fmtArgs() []string {
	return []string{"fmt", "-no-color", "-check", "-diff", "-list=true", "-write=false", "-recursive=false"}
}

// fmtCheck runs the formatting check and returns its output when some
// files are not formatted (terraform exits with status 3), "" when all
// are. Other failures, such as syntax errors, are returned as errors with
// terraform's stderr; init or plan will report them properly. It keeps
// its own stderr.
func (s *run) fmtCheck(ctx context.Context) (string, error) {
	out := newBoundedBuffer(s.r.outputLimit())
	stderr := newBoundedBuffer(s.r.outputLimit())
	start := time.Now()
	err := runCommand(ctx, s.command(fmtArgs(), out, stderr), s.r.killGrace())
	s.r.logger().Debug("terraform command done", "project", s.dir, "command", "fmt", "duration", time.Since(start))
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &ee) && ee.ExitCode() == 3 && ctx.Err() == nil:
		return strings.TrimRight(out.String(), "\n"), nil
	default:
		if e := strings.TrimSpace(stderr.String()); e != "" {
			err = fmt.Errorf("%w: %s", err, e)
		}
		return "", err
	}
}
