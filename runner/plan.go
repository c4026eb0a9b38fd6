package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/credentials"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/workspaces"
)

// Status contexts planbot sets on head commits.
const (
	StatusPlan  = "planbot/plan"
	StatusApply = "planbot/apply"
)

// PlanGitHub is what planning needs from GitHub.
type PlanGitHub interface {
	comment.Client
	FileGetter
	PullRequest(ctx context.Context, repo planbot.Repo, number int) (planbot.PullRequest, error)
	ChangedFiles(ctx context.Context, repo planbot.Repo, number int) ([]planbot.ChangedFile, error)
	SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error
	Token(ctx context.Context) (string, error)
}

// Workspaces checks PRs out.
type Workspaces interface {
	Sync(ctx context.Context, src workspaces.Source) error
	Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error)
	Cleanup(ctx context.Context, repo planbot.Repo, pr int) error
	Prune(ctx context.Context, repo planbot.Repo, pr int, keep ...string) error
}

// Terraform plans a Terraform project.
type Terraform interface {
	Plan(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)
	// PlanDestroy plans the destruction of everything in the state of
	// the root in dir, a copy of a root that the change deletes.
	PlanDestroy(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)
	// Version returns the binary's version, such as "1.11.4".
	Version(ctx context.Context) (string, error)
}

// Credentials tells the secret environment of a repository's terraform
// runs: the plan set for plans, the apply set for applies.
type Credentials interface {
	Env(repo planbot.Repo, phase credentials.Phase) map[string]string
}

// Planner plans the projects a PR changes and posts the plan comment.
type Planner struct {
	Workspaces Workspaces
	Terraform  Terraform
	// Credentials, when set, gives terraform runs their credentials.
	Credentials Credentials
	// Unsandboxed reports that terraform runs unconfined; every plan
	// comment then says so.
	Unsandboxed bool
	Locks       Locks
	Plans       Plans
	Audit       AuditLog
	Bot         Bot
	// Slots bounds how many projects plan at once across all PRs.
	Slots        chan struct{}
	AllowForkPRs bool
	// Kustomize configures manifest builds.
	Kustomize kustomize.Options
	// Secrets are values masked in everything planbot posts or stores.
	Secrets []string
	// Metrics, when set, records project plans.
	Metrics *Metrics
	Logger  *slog.Logger
}

// PlanRequest says which PR to plan and why.
type PlanRequest struct {
	Repo   planbot.Repo
	Number int
	// Delivery is the webhook delivery that asked for the plan.
	Delivery string
	// Actor is who asked (the PR author or the commenter).
	Actor string
	// Only restricts the plan to projects with this name or dir; empty
	// plans every changed project.
	OnlyName, OnlyDir string
	// Force plans even when a plan for the head exists (a /plan command).
	Force bool
}

// Plan plans a PR at its current head and returns a one-line outcome for a
// reply to /plan. It returns an error only for failures worth retrying the
// job for; problems of the PR itself end up in the comment, the commit
// status and the outcome.
func (p *Planner) Plan(ctx context.Context, gh PlanGitHub, req PlanRequest) (string, error) {
	log := p.Logger.With("repo", req.Repo.String(), "pr", req.Number, "delivery", req.Delivery)
	bot, err := p.Bot.BotLogin(ctx)
	if err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	pr, err := gh.PullRequest(ctx, req.Repo, req.Number)
	if err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	log = log.With("sha", pr.HeadSHA)
	if outcome, skip, err := p.skip(ctx, gh, bot, pr, req, log); skip {
		return outcome, err
	}
	if err := gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusPlan, "pending", "planning…", pr.HTMLURL); err != nil {
		return "", err
	}
	results, notes, err := p.planProjects(ctx, gh, pr, req, log)
	if errors.Is(err, errUnknownProject) {
		// A typo in -p or -d: the comment and the status stay as they were.
		state, desc := comment.StatusDescription(storedResults(ctx, p.Plans, pr, p.Logger))
		return "could not plan: " + planbot.ErrorMessage(err), gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusPlan, state, desc, pr.HTMLURL)
	}
	if err == nil && (req.OnlyName != "" || req.OnlyDir != "") {
		// The comment shows every project of the head, not only the one
		// planned again.
		results = storedResults(ctx, p.Plans, pr, p.Logger)
	}
	return p.report(ctx, gh, bot, pr, results, notes, err, log)
}

// skip tells whether the PR is not to be planned: it is closed, it comes
// from a fork that planbot does not plan, or its head is planned and
// posted already (unless req forces a new plan).
func (p *Planner) skip(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest, req PlanRequest, log *slog.Logger) (outcome string, skip bool, err error) {
	switch {
	case pr.State != "open":
		log.Info("pull request is not open; not planning")
		return "this pull request is closed; planbot plans open pull requests only.", true, nil
	case pr.IsFork() && !p.AllowForkPRs:
		return "planbot does not plan pull requests from forks (see the note above).", true, p.refuseFork(ctx, gh, bot, pr)
	case !req.Force && p.posted(ctx, gh, bot, pr):
		log.Info("head already planned and posted; nothing to do")
		return "", true, nil
	}
	return "", false, nil
}

// report posts the plan comment and the final status of a plan that ran
// (planErr is a failure before any project ran) and returns its outcome.
func (p *Planner) report(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest, results []planbot.Result, notes []string, planErr error, log *slog.Logger) (string, error) {
	var failure, state, desc, outcome string
	if planErr != nil {
		// A failure before any project ran: report it on the PR.
		log.Error("plan failed", "err", planErr)
		failure = planbot.ErrorMessage(planErr)
		results = nil
		state, desc = "failure", "planbot could not plan this PR"
		outcome = "could not plan " + short(pr.HeadSHA) + ": " + failure
	} else {
		state, desc = comment.StatusDescription(results)
		outcome = "planned " + short(pr.HeadSHA) + ": " + desc + ". The plan comment above is up to date."
	}
	if len(results) == 0 && planErr == nil && !p.hasComment(ctx, gh, bot, pr) {
		return "this pull request changes no Terraform or Kustomize project.",
			gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, "success", "no Terraform or Kustomize projects changed", pr.HTMLURL)
	}
	report := comment.Report{
		Repo: pr.Repo, PR: pr.Number, HeadSHA: pr.HeadSHA,
		HeadURL: commitURL(pr), Results: results, Notes: notes, Command: "plan", Error: failure,
		Unsandboxed: p.Unsandboxed,
	}
	if len(results) > 0 {
		report.Approvals = p.approvals(ctx, gh, pr, log)
	}
	parts := comment.Render(report, comment.Options{Secrets: p.Secrets})
	if err := comment.Upsert(ctx, gh, bot, pr.Repo, pr.Number, parts); err != nil {
		return outcome, fmt.Errorf("post plan comment: %w", err)
	}
	if err := gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, state, desc, pr.HTMLURL); err != nil {
		return outcome, err
	}
	if planbot.ErrorCode(planErr) == planbot.EINTERNAL {
		// Not a problem of the PR (GitHub or git was unavailable, a rate
		// limit): the job is retried after a backoff and, if it then
		// succeeds, the comment is replaced.
		return outcome, fmt.Errorf("plan: %w", planErr)
	}
	return outcome, nil
}

// approvals tells whose approval /apply will need: the owning CODEOWNERS
// rules (base branch) of the PR's changed files. It returns nil, and the
// comment says nothing about approvals, when they cannot be read.
func (p *Planner) approvals(ctx context.Context, gh PlanGitHub, pr planbot.PullRequest, log *slog.Logger) *comment.Approvals {
	f, err := codeowners.Load(ctx, gh, pr.Repo, pr.BaseSHA)
	if err != nil {
		log.Warn("read CODEOWNERS for the plan comment", "err", err)
		return nil
	}
	files, err := gh.ChangedFiles(ctx, pr.Repo, pr.Number)
	if err != nil {
		log.Warn("list changed files for the plan comment", "err", err)
		return nil
	}
	a := &comment.Approvals{File: f.Path}
	for _, path := range codeowners.Paths(files) {
		r, ok := f.Match(path)
		if !ok || len(r.Owners) == 0 {
			continue
		}
		i := slices.IndexFunc(a.Rules, func(ar comment.ApprovalRule) bool { return ar.Line == r.Line })
		if i < 0 {
			a.Rules = append(a.Rules, comment.ApprovalRule{Line: r.Line, Owners: r.Owners})
			i = len(a.Rules) - 1
		}
		a.Rules[i].Files = append(a.Rules[i].Files, path)
	}
	slices.SortFunc(a.Rules, func(x, y comment.ApprovalRule) int { return x.Line - y.Line })
	return a
}

func commitURL(pr planbot.PullRequest) string {
	if pr.HTMLURL == "" {
		return ""
	}
	return pr.HTMLURL + "/commits/" + pr.HeadSHA
}

// posted reports whether the head is planned and the plan comment shows it:
// another delivery for the same head (a redelivery under a new ID, or
// "ready_for_review" after "opened") then has nothing to do. A plan whose
// comment was never posted, because the job failed half-way, is redone.
func (p *Planner) posted(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest) bool {
	plans, err := p.Plans.Plans(ctx, pr.Repo.String(), pr.Number, pr.HeadSHA)
	if err != nil || len(plans) == 0 {
		return false
	}
	cs, err := gh.ListComments(ctx, pr.Repo, pr.Number)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if _, part, ok := comment.ParseMarker(c.Body); ok && part == 1 && c.User == bot && strings.Contains(c.Body, pr.HeadSHA) {
			return true
		}
	}
	return false
}

func (p *Planner) hasComment(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest) bool {
	cs, err := gh.ListComments(ctx, pr.Repo, pr.Number)
	if err != nil {
		return true // render and let Upsert report the error
	}
	for _, c := range cs {
		if c.User == bot && strings.Contains(c.Body, "<!-- planbot:plan") {
			return true
		}
	}
	return false
}

const forkMarker = "<!-- planbot:fork -->"

func (p *Planner) refuseFork(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest) error {
	cs, err := gh.ListComments(ctx, pr.Repo, pr.Number)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.User == bot && strings.Contains(c.Body, forkMarker) {
			return nil
		}
	}
	_, err = gh.CreateComment(ctx, pr.Repo, pr.Number, forkMarker+"\n"+
		"planbot does not plan pull requests from forks: `terraform plan` runs code from the PR, "+
		"and this PR's code comes from outside the repository. A maintainer can push the branch to this "+
		"repository, or the operator can start planbot with `--allow-fork-prs`.")
	return err
}

// source describes where a PR's code comes from.
func source(pr planbot.PullRequest, token string) workspaces.Source {
	return workspaces.Source{
		Repo: pr.Repo, CloneURL: pr.CloneURL, Token: token, PR: pr.Number,
		BaseRef: pr.BaseRef, BaseSHA: pr.BaseSHA, HeadSHA: pr.HeadSHA,
	}
}

// planProjects checks the PR out, detects its projects, takes their locks
// and plans them in parallel.
func (p *Planner) planProjects(ctx context.Context, gh PlanGitHub, pr planbot.PullRequest, req PlanRequest, log *slog.Logger) ([]planbot.Result, []string, error) {
	cfg, err := repoConfig(ctx, gh, pr)
	if err != nil {
		return nil, nil, err
	}
	if cfg.TerraformVersion != "" {
		v, err := p.Terraform.Version(ctx)
		if err != nil {
			return nil, nil, err
		}
		if err := cfg.CheckTerraformVersion(v); err != nil {
			return nil, nil, err
		}
	}
	files, err := gh.ChangedFiles(ctx, pr.Repo, pr.Number)
	if err != nil {
		return nil, nil, err
	}
	token, err := gh.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	src := source(pr, token)
	if err := p.Workspaces.Sync(ctx, src); err != nil {
		return nil, nil, err
	}
	tree, err := p.Workspaces.Checkout(ctx, src, pr.HeadSHA, "_tree")
	if err != nil {
		return nil, nil, err
	}
	baseTree, err := p.Workspaces.Checkout(ctx, src, pr.BaseSHA, "_tree")
	if err != nil {
		return nil, nil, err
	}
	projects, notes, err := selectProjects(cfg, baseTree, tree, files)
	if err != nil {
		return nil, nil, err
	}
	if req.OnlyName == "" && req.OnlyDir == "" {
		p.releaseStale(ctx, pr, projects, log)
	}
	projects, err = filterProjects(projects, req.OnlyName, req.OnlyDir)
	if err != nil {
		return nil, notes, err
	}
	results := make([]planbot.Result, len(projects))
	var wg sync.WaitGroup
	for i, prj := range projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = p.planOne(ctx, src, pr, prj, trees{base: baseTree, head: tree}, req, log.With("project", prj.Name))
			p.Metrics.planned(results[i])
		}()
	}
	wg.Wait()
	if err := p.Workspaces.Prune(ctx, pr.Repo, pr.Number, pr.HeadSHA, pr.BaseSHA); err != nil {
		log.Warn("prune old workspaces", "err", err)
	}
	return results, notes, nil
}

// trees are the base and head checkouts of a PR, shared read-only by its
// projects.
type trees struct{ base, head string }

// releaseStale releases the PR's locks on projects its head no longer
// changes (a push reverted them), so other PRs can plan them.
func (p *Planner) releaseStale(ctx context.Context, pr planbot.PullRequest, projects []planbot.Project, log *slog.Logger) {
	locks, err := p.Locks.Locks(ctx, pr.Repo.String())
	if err != nil {
		log.Warn("list locks", "err", err)
		return
	}
	current := map[string]bool{}
	for _, prj := range projects {
		current[prj.Dir+"\x00"+workspaceOf(prj)] = true
	}
	for _, l := range locks {
		if l.PR != pr.Number || current[l.Dir+"\x00"+l.Workspace] {
			continue
		}
		if _, err := p.Locks.ReleaseLock(ctx, l.Repo, l.Dir, l.Workspace, pr.Number); err != nil {
			log.Warn("release stale lock", "project", l.Dir, "err", err)
			continue
		}
		log.Info("lock released: the PR no longer changes the project", "project", l.Dir)
	}
}

// errUnknownProject marks a -p or -d that names no project of the PR.
var errUnknownProject = errors.New("unknown project")

func filterProjects(ps []planbot.Project, name, dir string) ([]planbot.Project, error) {
	if name == "" && dir == "" {
		return ps, nil
	}
	var out []planbot.Project
	for _, p := range ps {
		if (name != "" && p.Name == name) || (dir != "" && path.Clean(p.Dir) == path.Clean(dir)) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		var names []string
		for _, p := range ps {
			names = append(names, "`"+p.Name+"`")
		}
		sort.Strings(names)
		want := name
		if want == "" {
			want = dir
		}
		if len(names) == 0 {
			return nil, &planbot.Error{Code: planbot.ENOTFOUND, Err: errUnknownProject,
				Message: fmt.Sprintf("this PR changes no project, so there is no `%s` to plan", want)}
		}
		return nil, &planbot.Error{Code: planbot.ENOTFOUND, Err: errUnknownProject,
			Message: fmt.Sprintf("this PR does not change a project `%s`; it changes %s", want, strings.Join(names, ", "))}
	}
	return out, nil
}

// planOne locks and plans one project in its own workspace.
func (p *Planner) planOne(ctx context.Context, src workspaces.Source, pr planbot.PullRequest, prj planbot.Project, t trees, req PlanRequest, log *slog.Logger) planbot.Result {
	res := planbot.Result{Project: prj}
	holder, ok, err := p.Locks.AcquireLock(ctx, store.Lock{
		Repo: pr.Repo.String(), Dir: prj.Dir, Workspace: workspaceOf(prj), PR: pr.Number, HeadSHA: pr.HeadSHA, User: req.Actor,
	})
	if err != nil {
		res.Status, res.Error = planbot.StatusFailed, planbot.ErrorMessage(err)
		log.Error("acquire lock", "err", err)
		return res
	}
	if !ok {
		res.Status, res.LockedBy = planbot.StatusLocked, holder.PR
		appendAudit(ctx, p.Audit, log, audit.Entry{
			Repo: pr.Repo.String(), PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA, Project: prj.Name,
			Action: audit.ActionLockConflict, Actor: req.Actor, Outcome: "locked",
			Detail: fmt.Sprintf("locked by #%d", holder.PR), DeliveryID: req.Delivery,
		})
		return res
	}

	// A Terraform root is checked out before its slot is taken: checkouts
	// wait for the repository cache, which every plan shares, and a slot
	// held meanwhile would leave terraform idle.
	plan := func() planbot.Result { return p.planManifests(ctx, t, prj, log) }
	if prj.Kind != planbot.KindKustomize {
		plan = p.checkoutRoot(ctx, src, pr, prj, log)
	}
	select {
	case p.Slots <- struct{}{}:
		defer func() { <-p.Slots }()
	case <-ctx.Done():
		res.Status, res.Error = planbot.StatusFailed, "cancelled before the plan started"
		return res
	}
	res = plan()
	res = p.save(ctx, pr, prj, redact.Result(res, p.Secrets), log)
	appendAudit(ctx, p.Audit, log, audit.Entry{
		Repo: pr.Repo.String(), PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA, Project: prj.Name,
		Action: audit.ActionPlan, Actor: req.Actor, Outcome: string(res.Status), Detail: res.Summary,
		PlanSHA256: res.PlanSHA256, DeliveryID: req.Delivery,
	})
	log.Info("project planned", "status", string(res.Status), "summary", res.Summary)
	return res
}

// save stores the result of project prj, and its saved plan file so that any
// replica can apply it, and returns the result as stored. The result's
// JSON and the status column always agree: a plan file that cannot be read
// fails the result before either is written.
func (p *Planner) save(ctx context.Context, pr planbot.PullRequest, prj planbot.Project, res planbot.Result, log *slog.Logger) planbot.Result {
	var planData []byte
	if res.PlanFile != "" {
		var err error
		if planData, err = os.ReadFile(res.PlanFile); err != nil {
			log.Error("read saved plan", "err", err)
			res.Status, res.Error = planbot.StatusFailed, "could not read the saved plan; run /plan again"
		}
	}
	blob, _ := json.Marshal(res)
	if _, err := p.Plans.SavePlan(ctx, store.Plan{
		Repo: pr.Repo.String(), PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA,
		Project: prj.Name, Dir: prj.Dir, Workspace: workspaceOf(prj), Kind: string(prj.Kind),
		Status: string(res.Status), PlanFile: res.PlanFile, PlanSHA256: res.PlanSHA256, Result: blob, PlanData: planData,
	}); err != nil {
		// Nothing was stored; the comment and the audit log say so.
		log.Error("save plan", "err", err)
		res.Status, res.Error = planbot.StatusFailed, "could not save the plan; run /plan again"
	}
	return res
}

// checkoutRoot checks out the project's own workspace of Terraform root prj
// and returns the function that plans it there.
func (p *Planner) checkoutRoot(ctx context.Context, src workspaces.Source, pr planbot.PullRequest, prj planbot.Project, log *slog.Logger) func() planbot.Result {
	fail := func(err error) func() planbot.Result {
		log.Error("plan project", "err", err)
		res := planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
		return func() planbot.Result { return res }
	}
	// A deleted root only exists on the base: its copy there names the
	// backend and the providers that destroy what its state holds.
	sha, plan := pr.HeadSHA, p.Terraform.Plan
	if prj.Deleted {
		sha, plan = pr.BaseSHA, p.Terraform.PlanDestroy
	}
	root, err := p.Workspaces.Checkout(ctx, src, sha, prj.Name)
	if err != nil {
		return fail(err)
	}
	dir, err := workspaces.SafeJoin(root, prj.Dir)
	if err != nil {
		return fail(err)
	}
	return func() planbot.Result {
		res, err := plan(ctx, dir, workspaceOf(prj), terraform.Root(root), credentialsEnv(p.Credentials, src.Repo, credentials.Plan))
		res.Project = prj
		if err != nil && res.Status != planbot.StatusFailed {
			log.Error("plan project", "err", err)
			return planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
		}
		return res
	}
}

// credentialsEnv returns the run option that passes repo's credentials of
// phase to terraform; none when c is nil.
func credentialsEnv(c Credentials, repo planbot.Repo, phase credentials.Phase) terraform.RunOption {
	if c == nil {
		return terraform.Env(nil)
	}
	return terraform.Env(c.Env(repo, phase))
}

// planManifests diffs a Kustomize overlay between the base and head trees.
// Builds only read the trees, so the shared checkouts are safe to use.
func (p *Planner) planManifests(ctx context.Context, t trees, prj planbot.Project, log *slog.Logger) planbot.Result {
	res, err := kustomize.Plan(ctx, t.base, t.head, prj.Dir, p.Kustomize)
	res.Project = prj
	if err != nil {
		log.Error("diff manifests", "err", err)
		return planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
	}
	return res
}

func workspaceOf(p planbot.Project) string {
	if p.Workspace == "" {
		return "default"
	}
	return p.Workspace
}
