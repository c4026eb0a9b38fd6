package drift

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/workspaces"
)

// Local checks a local git repository for drift without GitHub: it plans
// every Terraform project of one commit, as a pass plans a default
// branch's head, and renders the issue bodies the pass would write. It is
// the drift twin of runner.Local.
type Local struct {
	Terraform Terraform
	// Parallelism bounds how many projects plan at once.
	Parallelism int
	Secrets     []string
	// Unsandboxed reports that terraform runs unconfined; the bodies'
	// footer then says so.
	Unsandboxed bool
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// LocalRequest names the repository, the commit and the projects to check.
type LocalRequest struct {
	RepoDir string
	// Ref is any git revision; empty means HEAD.
	Ref string
	// Project, when set, checks only the projects of that name.
	Project string
	// WorkDir receives the checked-out trees; it should be empty.
	WorkDir string
}

// Finding is what Local found in one project: its summary and, when it
// drifts or fails, the issue body a pass would write (part 1) and its
// continuation comments.
type Finding struct {
	Summary
	Parts []string
}

// Check plans the projects of req's commit and returns one finding per
// project, in the order of the projects.
func (l *Local) Check(ctx context.Context, req LocalRequest) ([]Finding, string, error) {
	ref := req.Ref
	if ref == "" {
		ref = "HEAD"
	}
	sha, err := runner.RevParse(ctx, req.RepoDir, ref)
	if err != nil {
		return nil, "", err
	}
	trees := &localTrees{runner.ExportTrees{RepoDir: req.RepoDir, WorkDir: req.WorkDir}}
	src := workspaces.Source{Repo: localRepo(req.RepoDir), BaseSHA: sha}
	tree, err := trees.Checkout(ctx, src, sha, "_tree")
	if err != nil {
		return nil, sha, err
	}
	cfg := config.DefaultRepo()
	if data, err := os.ReadFile(filepath.Join(tree, config.RepoFile)); err == nil {
		if cfg, err = config.ParseRepo(data); err != nil {
			return nil, sha, err
		}
	}
	projects, err := terraformProjects(cfg, tree, Window{Project: req.Project})
	if err != nil {
		return nil, sha, err
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Detector{
		Workspaces: trees, Terraform: l.Terraform, Slots: newLocalSlots(l.Parallelism),
		Secrets: l.Secrets, Unsandboxed: l.Unsandboxed, Now: l.Now, Logger: logger,
	}
	results := planAll(ctx, d, src, sha, projects, logger)
	t := tracker{repo: src.Repo, secrets: l.Secrets, unsandboxed: l.Unsandboxed}
	now := d.now()
	out := make([]Finding, 0, len(results))
	for _, res := range results {
		f := Finding{Summary: Summary{Repo: src.Repo.String(), Project: res.Project.Name, Status: statusOf(res), Changed: changedCount(res)}}
		if f.Status != "ok" {
			f.Parts = t.render(res, sha, 0, now, 1, now)
		}
		out = append(out, f)
	}
	return out, sha, nil
}

// localRepo names a local repository "local/<directory name>", as
// runner.Local does.
func localRepo(dir string) planbot.Repo {
	name := filepath.Base(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	return planbot.Repo{Owner: "local", Name: name}
}

// localTrees checks commits of a local repository out with git archive:
// each project into its own directory (runner.ExportTrees), and the
// whole commit that projects are found in ("_tree") into WorkDir/tree.
type localTrees struct{ runner.ExportTrees }

func (t *localTrees) Sync(context.Context, workspaces.Source) error { return nil }

func (t *localTrees) Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error) {
	if name != "_tree" {
		return t.ExportTrees.Checkout(ctx, src, sha, name)
	}
	dir := filepath.Join(t.WorkDir, "tree")
	if err := runner.ExportTree(ctx, t.RepoDir, sha, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func (t *localTrees) Prune(context.Context, planbot.Repo, int, ...string) error { return nil }

// localSlots bounds local plans; nothing else competes for them.
type localSlots chan struct{}

func newLocalSlots(n int) localSlots { return make(localSlots, max(n, 1)) }

func (s localSlots) AcquireIdle(ctx context.Context) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
