package runner

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/workspaces"
)

// Local plans a change in a local git repository without GitHub: the same
// detection, planning and rendering a PR gets, for previews and for CI
// systems that post the comment themselves.
type Local struct {
	Terraform Terraform
	// Parallelism bounds how many projects plan at once.
	Parallelism int
	Kustomize   kustomize.Options
	Secrets     []string
	// Unsandboxed reports that terraform runs unconfined; the comment's
	// footer then says so.
	Unsandboxed bool
}

// LocalRequest names the repository and the two commits to compare.
type LocalRequest struct {
	RepoDir string
	// Base and Head are any git revisions; the change is Head relative to
	// its merge base with Base, as in a pull request.
	Base, Head string
	// WorkDir receives the checked-out trees; it should be empty.
	WorkDir string
}

// Plan plans the change and returns the comment parts.
func (l *Local) Plan(ctx context.Context, req LocalRequest) ([]string, error) {
	base, err := RevParse(ctx, req.RepoDir, req.Base)
	if err != nil {
		return nil, err
	}
	head, err := RevParse(ctx, req.RepoDir, req.Head)
	if err != nil {
		return nil, err
	}
	out, err := git(ctx, req.RepoDir, "diff", "--name-status", "-M", "-z", "--no-ext-diff", base+"..."+head, "--")
	if err != nil {
		return nil, err
	}
	files, err := workspaces.ParseNameStatus(out)
	if err != nil {
		return nil, err
	}
	t := trees{base: filepath.Join(req.WorkDir, "base"), head: filepath.Join(req.WorkDir, "head")}
	if err := ExportTree(ctx, req.RepoDir, head, t.head); err != nil {
		return nil, err
	}
	if err := ExportTree(ctx, req.RepoDir, base, t.base); err != nil {
		return nil, err
	}
	cfg := config.DefaultRepo()
	if data, err := os.ReadFile(filepath.Join(t.base, config.RepoFile)); err == nil {
		if cfg, err = config.ParseRepo(data); err != nil {
			return nil, err
		}
	}
	projects, notes, err := selectProjects(cfg, t.base, t.head, files)
	if err != nil {
		return nil, err
	}
	resolveEngines(l.Terraform, projects)
	results := make([]planbot.Result, len(projects))
	slots := make(chan struct{}, max(l.Parallelism, 1))
	var wg sync.WaitGroup
	for i, prj := range projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = l.planOne(ctx, req, base, head, prj, t)
		}()
	}
	wg.Wait()
	name := filepath.Base(req.RepoDir)
	if abs, err := filepath.Abs(req.RepoDir); err == nil {
		name = filepath.Base(abs)
	}
	return comment.Render(comment.Report{
		Repo: planbot.Repo{Owner: "local", Name: name}, HeadSHA: head, Results: results, Notes: notes, Command: "plan",
		Unsandboxed: l.Unsandboxed,
	}, comment.Options{Secrets: l.Secrets}), nil
}

// planOne plans a project in its own copy of the head tree, so projects do
// not share .terraform directories or plan files.
func (l *Local) planOne(ctx context.Context, req LocalRequest, base, head string, prj planbot.Project, t trees) planbot.Result {
	fail := func(err error) planbot.Result {
		return planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
	}
	if prj.Kind == planbot.KindKustomize {
		res, err := kustomize.Plan(ctx, t.base, t.head, prj.Dir, l.Kustomize)
		res.Project = prj
		if err != nil {
			return fail(err)
		}
		return res
	}
	sha, plan := head, l.Terraform.Plan
	if prj.Deleted {
		sha, plan = base, l.Terraform.PlanDestroy
	}
	trees := ExportTrees{RepoDir: req.RepoDir, WorkDir: req.WorkDir}
	res := CheckoutRoot(ctx, trees, workspaces.Source{}, sha, prj, plan, slog.New(slog.DiscardHandler))()
	return redact.Result(res, l.Secrets)
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "git %s: %s", args[0], strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// RevParse returns the commit a git revision of the repository in dir
// names.
func RevParse(ctx context.Context, dir, rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", planbot.Errorf(planbot.EINVALID, "invalid revision %q", rev)
	}
	out, err := git(ctx, dir, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// ExportTree writes the tree of commit sha into dir with `git archive`,
// refusing entries that would land outside dir.
func ExportTree(ctx context.Context, repoDir, sha, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "-C", repoDir, "archive", "--format=tar", sha)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	werr := untar(pipe, dir)
	io.Copy(io.Discard, pipe)
	if err := cmd.Wait(); err != nil {
		return planbot.Errorf(planbot.EINVALID, "git archive %s: %s", sha, strings.TrimSpace(stderr.String()))
	}
	return werr
}

func untar(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		target, err := workspaces.SafeJoin(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			// Symlinks are kept only when they stay inside the tree.
			if _, err := workspaces.SafeJoin(dir, filepath.Join(filepath.Dir(h.Name), h.Linkname)); err != nil || filepath.IsAbs(h.Linkname) {
				continue
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		}
	}
}
