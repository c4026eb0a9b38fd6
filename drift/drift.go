// Package drift notices when a repository's default branch no longer
// matches what runs, and says so in one GitHub issue per project.
//
// The model: a pass (Detector.Pass) visits every installed, allowlisted
// repository, checks its default branch head out once in the normal
// isolated workspace (as pull request 0), and plans every Terraform project
// in the sandbox with the plan credentials. Each plan waits for a slot of
// the global limit that pull request plans share, and takes one only when
// no pull request plan waits, so a pass never starves them. A drift plan
// takes no project lock and is never applied. A plan with changes is drift;
// a failed plan is an error. Both keep (or open) the project's issue,
// titled "Drift: <repo> <project>" and labelled LabelName, whose body the
// comment renderer writes; the next pass edits it in place, a pass without
// drift closes it with a comment, and an issue a person closed while the
// drift persists is reopened.
//
// A Scheduler runs passes on a cron schedule. With several replicas each
// scheduled pass is claimed in the store by its scheduled time, so exactly
// one replica runs it, passes never overlap, and a pass whose replica died
// is taken over once its lease ends.
package drift

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/credentials"
	"github.com/planbot/planbot/project"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/workspaces"
)

// LabelName is the label of drift issues.
const LabelName = "planbot:drift"

// App lists the App's installations and hands out their clients.
type App interface {
	Installations(ctx context.Context) ([]int64, error)
	BotLogin(ctx context.Context) (string, error)
}

// GitHub is what a pass needs from one installation.
type GitHub interface {
	comment.Client
	Repositories(ctx context.Context, installation int64) ([]planbot.Repository, error)
	BranchSHA(ctx context.Context, repo planbot.Repo, branch string) (string, error)
	GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error)
	Token(ctx context.Context) (string, error)
	Issues(ctx context.Context, repo planbot.Repo, label string) ([]planbot.Issue, error)
	CreateIssue(ctx context.Context, repo planbot.Repo, title, body string, labels []string) (planbot.Issue, error)
	EditIssue(ctx context.Context, repo planbot.Repo, number int, e planbot.IssueEdit) error
	EnsureLabel(ctx context.Context, repo planbot.Repo, name, color, description string) error
}

// Workspaces checks commits out.
type Workspaces interface {
	Sync(ctx context.Context, src workspaces.Source) error
	Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error)
	Prune(ctx context.Context, repo planbot.Repo, pr int, keep ...string) error
}

// Terraform plans a Terraform project.
type Terraform interface {
	Plan(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)
	// EngineOf returns the engine that runs a project whose
	// configuration names e ("" for none).
	EngineOf(e planbot.Engine) planbot.Engine
}

// Credentials tells the plan environment of a repository.
type Credentials interface {
	Env(repo planbot.Repo, phase credentials.Phase) map[string]string
}

// Slots is the global plan limit; background work takes a slot only when
// no pull request plan waits (see runner.Slots).
type Slots interface {
	AcquireIdle(ctx context.Context) (release func(), err error)
}

// AuditLog records drift findings.
type AuditLog interface {
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error)
}

// Detector runs drift passes.
type Detector struct {
	App        App
	GitHub     func(installation int64) GitHub
	Workspaces Workspaces
	Terraform  Terraform
	// Credentials, when set, gives plans the plan credentials.
	Credentials Credentials
	Slots       Slots
	Audit       AuditLog
	// AllowRepo reports whether a repository ("owner/name") is served;
	// nil serves all.
	AllowRepo func(repo string) bool
	// Secrets are masked in everything written.
	Secrets     []string
	Unsandboxed bool
	// Metrics, when set, records passes.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

func (d *Detector) now() time.Time { return clockNow(d.Now) }

// clockNow reads clock, or the system clock when clock is nil.
func clockNow(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}

// Summary is what a pass found in one project.
type Summary struct {
	Repo    string
	Project string
	// Status is "drift", "error" or "ok".
	Status string
	// Changed is how many resource addresses the plan would change
	// (create, update, destroy or replace).
	Changed int
	// Issue is the number of the project's issue, 0 for none; URL is its
	// address on GitHub, when known.
	Issue int
	URL   string
}

// Window is one pass: its ID in the audit log, and the scheduled times of
// the previous pass (zero for none) and of this one, which decide the
// projects whose own schedule is due. A zero From checks every project
// that drift detection is enabled for.
type Window struct {
	ID       string
	From, To time.Time
	// Repo, when set, narrows the pass to one repository ("owner/name",
	// compared case-insensitively), and Project to the projects of that
	// name.
	Repo, Project string
}

// Pass runs one drift pass over every installed, allowlisted repository.
// It returns what it found; an error in one repository is logged and does
// not stop the others.
func (d *Detector) Pass(ctx context.Context, w Window) ([]Summary, error) {
	start := d.now()
	if w.To.IsZero() {
		w.To = start
	}
	log := d.Logger.With("pass", w.ID)
	bot, err := d.App.BotLogin(ctx)
	if err != nil {
		return nil, fmt.Errorf("drift pass: %w", err)
	}
	ids, err := d.App.Installations(ctx)
	if err != nil {
		return nil, fmt.Errorf("drift pass: %w", err)
	}
	var out []Summary
	for _, inst := range ids {
		gh := d.GitHub(inst)
		repos, err := gh.Repositories(ctx, inst)
		if err != nil {
			log.Error("list repositories", "installation", inst, "err", err)
			continue
		}
		for _, r := range repos {
			if d.AllowRepo != nil && !d.AllowRepo(r.Repo.String()) {
				continue
			}
			if w.Repo != "" && !strings.EqualFold(w.Repo, r.Repo.String()) {
				continue
			}
			sums, err := d.checkRepo(ctx, gh, bot, r, w, log.With("repo", r.Repo.String()))
			if err != nil {
				log.Error("drift check", "repo", r.Repo.String(), "err", err)
			}
			out = append(out, sums...)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
		}
	}
	d.Metrics.pass(start, d.now())
	log.Info("drift pass finished", "projects", len(out), "duration", d.now().Sub(start).String())
	return out, nil
}

// checkRepo plans every Terraform project of a repository's default
// branch head and reconciles their issues.
func (d *Detector) checkRepo(ctx context.Context, gh GitHub, bot string, r planbot.Repository, w Window, log *slog.Logger) ([]Summary, error) {
	sha, err := gh.BranchSHA(ctx, r.Repo, r.DefaultBranch)
	if err != nil {
		return nil, err
	}
	log = log.With("sha", sha)
	cfg, err := repoConfig(ctx, gh, r.Repo, sha)
	if err != nil {
		return nil, err
	}
	token, err := gh.Token(ctx)
	if err != nil {
		return nil, err
	}
	src := workspaces.Source{Repo: r.Repo, CloneURL: r.CloneURL, Token: token, BaseRef: r.DefaultBranch, BaseSHA: sha}
	if err := d.Workspaces.Sync(ctx, src); err != nil {
		return nil, err
	}
	tree, err := d.Workspaces.Checkout(ctx, src, sha, "_tree")
	if err != nil {
		return nil, err
	}
	projects, err := terraformProjects(cfg, tree, w)
	if err != nil {
		return nil, err
	}
	results := planAll(ctx, d, src, sha, projects, log)
	if err := d.Workspaces.Prune(ctx, r.Repo, 0, sha); err != nil {
		log.Warn("prune old drift workspaces", "err", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	issues, err := gh.Issues(ctx, r.Repo, LabelName)
	if err != nil {
		return nil, err
	}
	t := tracker{gh: gh, bot: bot, repo: r.Repo, issues: issues, secrets: d.Secrets, unsandboxed: d.Unsandboxed}
	var out []Summary
	drifting := 0
	for _, res := range results {
		s := Summary{Repo: r.Repo.String(), Project: res.Project.Name, Status: statusOf(res), Changed: changedCount(res)}
		n, changed, err := t.reconcile(ctx, res, sha, d.now())
		if err != nil {
			log.Error("update drift issue", "project", res.Project.Name, "err", err)
		}
		s.Issue, s.URL = n, t.url(n)
		if s.Status != "ok" {
			drifting++
		}
		if changed != "" {
			d.audit(ctx, r.Repo, sha, res, changed, n, w.ID, log)
		}
		out = append(out, s)
	}
	d.Metrics.drifting(r.Repo.String(), drifting)
	return out, nil
}

// changedCount returns how many resource addresses res would change.
func changedCount(res planbot.Result) int {
	c := res.Changes
	return c.Add + c.Change + c.Destroy + c.Replace
}

func statusOf(res planbot.Result) string {
	switch res.Status {
	case planbot.StatusPlanned:
		return "drift"
	case planbot.StatusNoChange:
		return "ok"
	}
	return "error"
}

func (d *Detector) audit(ctx context.Context, repo planbot.Repo, sha string, res planbot.Result, action string, issue int, passID string, log *slog.Logger) {
	e := audit.Entry{
		Repo: repo.String(), HeadSHA: sha, Project: res.Project.Name, Action: action, Actor: "planbot",
		Outcome: statusOf(res), Detail: fmt.Sprintf("issue #%d: %s", issue, res.Summary), PlanSHA256: res.PlanSHA256,
		DeliveryID: "drift:" + passID,
	}
	if d.Audit == nil {
		return
	}
	if _, _, err := d.Audit.AppendAudit(ctx, e); err != nil {
		log.Error("append audit entry", "action", action, "err", err)
	}
}

// planAll plans the projects at once, each waiting for a slot, and
// returns their results in the order of projects.
func planAll(ctx context.Context, d *Detector, src workspaces.Source, sha string, projects []planbot.Project, log *slog.Logger) []planbot.Result {
	results := make([]planbot.Result, len(projects))
	var wg sync.WaitGroup
	for i, prj := range projects {
		// The issue names the engine that planned the project.
		prj.Engine = d.Terraform.EngineOf(prj.Engine)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.planOne(ctx, src, sha, prj, log.With("project", prj.Name))
		}()
	}
	wg.Wait()
	return results
}

// planOne plans one project read-only: no lock, and the saved plan is
// removed at once, so it can never be applied. It checks the project out
// before it waits for a slot, as pull request plans do
// (runner.CheckoutRoot).
func (d *Detector) planOne(ctx context.Context, src workspaces.Source, sha string, prj planbot.Project, log *slog.Logger) planbot.Result {
	var env map[string]string
	if d.Credentials != nil {
		env = d.Credentials.Env(src.Repo, credentials.Plan)
	}
	plan := runner.CheckoutRoot(ctx, d.Workspaces, src, sha, prj, d.Terraform.Plan, log, terraform.Env(env))
	release, err := d.Slots.AcquireIdle(ctx)
	if err != nil {
		log.Error("drift plan", "err", err)
		return planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
	}
	defer release()
	res := plan()
	if res.PlanFile != "" {
		os.Remove(res.PlanFile)
		res.PlanFile = ""
	}
	log.Info("drift plan", "status", string(res.Status), "summary", res.Summary)
	return redact.Result(res, d.Secrets)
}

// repoConfig reads .planbot.yaml at sha; a missing file is the defaults.
func repoConfig(ctx context.Context, gh GitHub, repo planbot.Repo, sha string) (*config.Repo, error) {
	data, err := gh.GetFile(ctx, repo, config.RepoFile, sha)
	if planbot.ErrorCode(err) == planbot.ENOTFOUND {
		return config.DefaultRepo(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", config.RepoFile, err)
	}
	return config.ParseRepo(data)
}

// terraformProjects returns the Terraform projects of the tree at root:
// those RepoFile declares, or every detected root.
func terraformProjects(cfg *config.Repo, root string, w Window) ([]planbot.Project, error) {
	if cfg.Explicit() {
		if err := cfg.ResolveKinds(os.DirFS(root), os.DirFS(root)); err != nil {
			return nil, err
		}
		var out []planbot.Project
		for _, p := range cfg.Projects {
			if p.Kind == planbot.KindTerraform && w.wants(p.Name) && cfg.DriftDue(p.Name, w.From, w.To) {
				out = append(out, planbot.Project{Name: p.Name, Dir: p.Dir, Workspace: p.Workspace, Kind: p.Kind})
			}
		}
		cfg.SetEngines(out)
		return out, nil
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == ".terraform") {
			return filepath.SkipDir
		}
		if !e.IsDir() && planbot.IsConfigFile(e.Name()) {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	det, err := project.DetectTerraform(root, paths)
	if err != nil {
		return nil, err
	}
	var out []planbot.Project
	for _, p := range det.Projects {
		if w.wants(p.Name) && cfg.DriftDue(p.Name, w.From, w.To) {
			out = append(out, p)
		}
	}
	cfg.SetEngines(out)
	return out, nil
}

// wants reports whether the pass checks the project called name.
func (w Window) wants(name string) bool {
	return w.Project == "" || w.Project == name
}
