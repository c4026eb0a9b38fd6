package terraform

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
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
	out, _, err := s.fmtRun(ctx, fmtArgs())
	return out, err
}

// fmtRun runs terraform fmt with args, as fmtCheck describes, and reports
// whether the output was cut to the output limit.
func (s *run) fmtRun(ctx context.Context, args []string) (string, bool, error) {
	out := newBoundedBuffer(s.r.outputLimit())
	stderr := newBoundedBuffer(s.r.outputLimit())
	start := time.Now()
	err := runCommand(ctx, s.command(args, out, stderr), s.r.killGrace())
	s.r.logger().Debug("terraform command done", "project", s.dir, "command", "fmt", "duration", time.Since(start))
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "", false, nil
	case errors.As(err, &ee) && ee.ExitCode() == 3 && ctx.Err() == nil:
		return strings.TrimRight(out.String(), "\n"), out.omitted > 0, nil
	default:
		if e := strings.TrimSpace(stderr.String()); e != "" {
			err = fmt.Errorf("%w: %s", err, e)
		}
		return "", false, err
	}
}

// FmtCheck checks the formatting of several directories of the checkout
// root (slash-separated paths relative to it, not ".") with one terraform
// process, read-only, and returns for each directory exactly what Plan's
// own check of it gives: terraform names each file by its path from root,
// and the name is cut back to the file's own. Plan takes the result with
// Formatted. An error (a syntax error in one of the directories, for
// instance) says nothing about the others: check them one by one then.
func (r *Runner) FmtCheck(ctx context.Context, root string, dirs []string) (map[string]string, error) {
	s, err := r.open(root, Root(root), func(o *runOptions) { o.readOnly = true })
	if err != nil {
		return nil, err
	}
	defer s.close()
	args := append(fmtArgs(), "--")
	for _, d := range dirs {
		if d = path.Clean(d); d == "." || strings.HasPrefix(d, "../") || path.IsAbs(d) {
			return nil, fmt.Errorf("terraform fmt: %q is not a directory below the checkout", d)
		}
		args = append(args, "./"+d)
	}
	out, cut, err := s.fmtRun(ctx, args)
	if err != nil {
		return nil, err
	}
	if cut {
		// Each directory's own check cuts its own output: split nothing.
		return nil, fmt.Errorf("terraform fmt: output of %d directories over %d bytes", len(dirs), s.r.outputLimit())
	}
	return splitFmt(out, dirs), nil
}

// splitFmt splits the output of a formatting check of several directories
// into each directory's, as a check run in that directory would print it.
// Each file's part starts with its path and, since -diff is on, the line
// "--- old/" and the path; no line of a diff's body starts that way (each
// starts with " ", "+", "-" or "@", and "--- old/" only in the header).
func splitFmt(out string, dirs []string) map[string]string {
	parts := make(map[string][]string, len(dirs))
	for _, d := range dirs {
		parts[path.Clean(d)] = nil
	}
	lines := strings.Split(out, "\n")
	cur := ""
	for i, l := range lines {
		if i+1 < len(lines) && lines[i+1] == "--- old/"+l {
			if _, ok := parts[path.Dir(l)]; ok {
				cur = path.Dir(l)
			}
		}
		if cur == "" {
			continue
		}
		prefix := cur + "/"
		switch {
		case strings.HasPrefix(l, "--- old/"+prefix):
			l = "--- old/" + strings.TrimPrefix(l, "--- old/"+prefix)
		case strings.HasPrefix(l, "+++ new/"+prefix):
			l = "+++ new/" + strings.TrimPrefix(l, "+++ new/"+prefix)
		case i+1 < len(lines) && lines[i+1] == "--- old/"+l:
			l = strings.TrimPrefix(l, prefix)
		}
		parts[cur] = append(parts[cur], l)
	}
	res := make(map[string]string, len(parts))
	for d, ls := range parts {
		res[d] = strings.TrimRight(strings.Join(ls, "\n"), "\n")
	}
	return res
}
