package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/config"
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

// PlanGitHub is what planning needs from GitHub. Files of the repository
// are read from the fetched commits (see Workspaces), not through GitHub.
type PlanGitHub interface {
	comment.Client
	FileGetter
	PullRequest(ctx context.Context, repo planbot.Repo, number int) (planbot.PullRequest, error)
	ChangedFiles(ctx context.Context, repo planbot.Repo, number int) ([]planbot.ChangedFile, error)
	SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error
	Token(ctx context.Context) (string, error)
	CheckRuns
}

// Workspaces checks PRs out.
type Workspaces interface {
	Sync(ctx context.Context, src workspaces.Source) error
	Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error)
	Cleanup(ctx context.Context, repo planbot.Repo, pr int) error
	Prune(ctx context.Context, repo planbot.Repo, pr int, keep ...string) error
	// Remove removes one checkout that Checkout returned.
	Remove(ctx context.Context, repo planbot.Repo, dir string) error
	// ReadFile returns a file of a commit that Sync fetched, or an
	// ENOTFOUND error when the commit has no such file.
	ReadFile(ctx context.Context, repo planbot.Repo, sha, path string) ([]byte, error)
	// PullHead returns the head of a pull request as the last Sync that
	// fetched it saw it.
	PullHead(ctx context.Context, repo planbot.Repo, pr int) (string, error)
	// BranchTip returns the tip of a base branch as the last Sync that
	// fetched it saw it.
	BranchTip(ctx context.Context, repo planbot.Repo, branch string) (string, error)
	// ChangedFiles lists what headSHA changes since its merge base with
	// baseSHA; both must have been fetched.
	ChangedFiles(ctx context.Context, repo planbot.Repo, baseSHA, headSHA string) ([]planbot.ChangedFile, error)
	// Paths lists the files of a commit that Sync fetched.
	Paths(ctx context.Context, repo planbot.Repo, sha string) ([]string, error)
	filesReader
	treeCopier
	// WorkspaceOf returns the workspace that holds path, a file or
	// directory in a directory that Checkout or CopyCheckout returned.
	WorkspaceOf(path string) (string, error)
}

// Terraform plans a Terraform project.
type Terraform interface {
	Plan(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)
	// PlanDestroy plans the destruction of everything in the state of
	// the root in dir, a copy of a root that the change deletes.
	PlanDestroy(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)
	// Version returns the version of the binary of the engine that
	// terraform.UseEngine names, such as "1.11.4".
	Version(ctx context.Context, opts ...terraform.RunOption) (string, error)
	// EngineOf returns the engine that runs a project whose
	// configuration names e ("" for none).
	EngineOf(e planbot.Engine) planbot.Engine
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
	// Comments, when set, remembers the ids of the plan comments.
	Comments CommentRecords
	// Slots bounds how many projects plan at once across all PRs and
	// drift passes; PR plans go first.
	Slots        *Slots
	AllowForkPRs bool
	// Kustomize configures manifest builds.
	Kustomize kustomize.Options
	// Secrets are values masked in everything planbot posts or stores.
	Secrets []string
	// Metrics, when set, records project plans.
	Metrics *Metrics
	// Checks reports whether each project gets a check run next to the
	// commit statuses (--checks).
	Checks bool
	// Live, when set, receives terraform's output while it runs; Pages,
	// when set, names the web pages the comment and status link to.
	Live   LiveLog
	Pages  Pages
	Logger *slog.Logger
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
	// Opened tells that the plan is for the pull request's opened
	// webhook: a pull request new on GitHub, where planbot has posted no
	// comment unless its store says so (see upsertComment).
	Opened bool
	// PR is the pull request as the webhook payload that asked for the
	// plan holds it; nil reads it from GitHub. A plan of a payload's pull
	// request checks after its fetch that the head is still the PR's head,
	// and reads the PR from GitHub when it is not.
	PR *planbot.PullRequest
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
	var pr planbot.PullRequest
	if req.PR != nil {
		pr = *req.PR
	} else if pr, err = gh.PullRequest(ctx, req.Repo, req.Number); err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	log = log.With("sha", pr.HeadSHA)
	if outcome, skip, err := p.skip(ctx, gh, bot, pr, req, log); skip {
		return outcome, err
	}
	co, err := p.prepare(ctx, gh, pr, req.PR != nil, req.Delivery, log)
	if errors.Is(err, errMoved) {
		// The payload was stale: plan the PR as GitHub has it now.
		pr = co.pr
		log = log.With("sha", pr.HeadSHA)
		if outcome, skip, err := p.skip(ctx, gh, bot, pr, req, log); skip {
			return outcome, err
		}
		co, err = p.prepare(ctx, gh, pr, false, req.Delivery, log)
	}
	if errors.Is(err, errNotStarted) {
		return "", err
	}
	var results []planbot.Result
	var notes []string
	checks := newPlanChecks(p.Checks, gh, co.pr, log)
	if err == nil {
		results, notes, err = p.planProjects(ctx, co, req, checks, log)
		if err == nil {
			defer p.prune(ctx, co.pr, log)
		}
		_, outcome := comment.StatusDescription(results)
		if err != nil {
			outcome = "could not plan: " + planbot.ErrorMessage(err)
		}
		endLive(ctx, p.Live, co.pr, req.Delivery, outcome)
	}
	if errors.Is(err, errUnknownProject) {
		// A typo in -p or -d: the comment and the status stay as they were.
		state, desc := comment.StatusDescription(storedResults(ctx, p.Plans, pr, p.Logger))
		return "could not plan: " + planbot.ErrorMessage(err), gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusPlan, state, desc, pullURL(p.Pages, pr))
	}
	if err == nil && (req.OnlyName != "" || req.OnlyDir != "") {
		// The comment shows every project of the head, not only the one
		// planned again.
		results = storedResults(ctx, p.Plans, pr, p.Logger)
	}
	return p.report(ctx, gh, bot, pr, req.Opened, co.files, results, notes, err, checks, log)
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

// source describes where a PR's code comes from.
func source(pr planbot.PullRequest, token string) workspaces.Source {
	return workspaces.Source{
		Repo: pr.Repo, CloneURL: pr.CloneURL, Token: token, PR: pr.Number,
		BaseRef: pr.BaseRef, BaseSHA: pr.BaseSHA, HeadSHA: pr.HeadSHA,
	}
}

// errNotStarted marks a failure before the plan started, such as setting
// the pending status: nothing is reported on the pull request, and the job
// is retried.
var errNotStarted = errors.New("plan not started")

// errMoved tells that the pull request of a webhook payload has another
// head by now.
var errMoved = errors.New("the pull request moved on")

// prepared is a pull request ready to plan: its commits fetched, its
// changed files listed (once per job) and its repo config read.
type prepared struct {
	pr    planbot.PullRequest
	src   workspaces.Source
	files []planbot.ChangedFile
	cfg   *config.Repo
}

// prepare sets the pending status while it fetches the PR's commits and
// lists its changed files, then reads the repo config from the fetched
// base commit. When pr came from a webhook payload (fromPayload) and the
// fetch shows the PR has another head by now, the payload is stale: the
// PR is read from GitHub, the pending status of the stale head withdrawn,
// and errMoved returned with the current PR in prepared.pr, to be
// prepared in turn. A failure to get a token or to set the pending status
// wraps errNotStarted.
func (p *Planner) prepare(ctx context.Context, gh PlanGitHub, pr planbot.PullRequest, fromPayload bool, run string, log *slog.Logger) (prepared, error) {
	co := prepared{pr: pr}
	token, err := gh.Token(ctx)
	if err != nil {
		return co, fmt.Errorf("%w: %w", errNotStarted, err)
	}
	co.src = source(pr, token)
	co.src.Reuse = true
	var statusErr, filesErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		statusErr = gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, "pending", "planning…", runURL(p.Pages, pr, run))
	}()
	go func() {
		defer wg.Done()
		co.files, filesErr = gh.ChangedFiles(ctx, pr.Repo, pr.Number)
	}()
	syncErr := p.Workspaces.Sync(ctx, co.src)
	wg.Wait()
	switch {
	case statusErr != nil:
		return co, fmt.Errorf("%w: set the pending status: %w", errNotStarted, statusErr)
	case syncErr != nil:
		return co, syncErr
	case filesErr != nil:
		return co, filesErr
	}
	if fromPayload {
		if head, err := p.Workspaces.PullHead(ctx, pr.Repo, pr.Number); err == nil && head != pr.HeadSHA {
			log.Info("the pull request moved on since the webhook; planning its current head", "head", head)
			cur, err := gh.PullRequest(ctx, pr.Repo, pr.Number)
			if err != nil {
				return co, fmt.Errorf("plan: %w", err)
			}
			if err := gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, "error", "not planned: the pull request moved on to "+short(cur.HeadSHA), pr.HTMLURL); err != nil {
				log.Warn("withdraw the status of a stale head", "err", err)
			}
			return prepared{pr: cur}, errMoved
		}
	}
	co.cfg, err = repoConfig(ctx, baseFiles{p.Workspaces}, pr)
	return co, err
}

// planProjects checks the prepared PR out, detects its projects, takes
// their locks and plans them in parallel, each with its check run in
// progress.
func (p *Planner) planProjects(ctx context.Context, co prepared, req PlanRequest, checks *planChecks, log *slog.Logger) ([]planbot.Result, []string, error) {
	pr, src, cfg, files := co.pr, co.src, co.cfg, co.files
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
	resolveEngines(p.Terraform, projects)
	if err := checkVersions(ctx, p.Terraform, cfg, projects); err != nil {
		return nil, notes, err
	}
	t := trees{base: baseTree, head: tree, fmt: p.checkFormat(ctx, tree, projects, log)}
	results := make([]planbot.Result, len(projects))
	var wg sync.WaitGroup
	for i, prj := range projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks.start(prj)
			results[i] = p.planOne(ctx, src, pr, prj, t, req, log.With("project", prj.Name))
			p.Metrics.planned(results[i])
		}()
	}
	wg.Wait()
	return results, notes, nil
}

// prune removes the PR's workspaces of commits other than its head and
// base, once the plan is reported: it is no part of the wait for the
// comment and the status.
func (p *Planner) prune(ctx context.Context, pr planbot.PullRequest, log *slog.Logger) {
	if err := p.Workspaces.Prune(ctx, pr.Repo, pr.Number, pr.HeadSHA, pr.BaseSHA); err != nil {
		log.Warn("prune old workspaces", "err", err)
	}
}

// trees are the base and head checkouts of a PR, shared read-only by its
// projects, and the formatting of its roots when it was checked at once
// (see checkFormat), by dir.
type trees struct {
	base, head string
	fmt        map[string]string
}

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
		current[prj.Dir+"\x00"+prj.WorkspaceName()] = true
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
		Repo: pr.Repo.String(), Dir: prj.Dir, Workspace: prj.WorkspaceName(), PR: pr.Number, HeadSHA: pr.HeadSHA, User: req.Actor,
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

	// A Terraform root is checked out before its slot is taken (see
	// CheckoutRoot).
	plan := func() planbot.Result { return p.planManifests(ctx, t, prj, log) }
	if prj.Kind != planbot.KindKustomize {
		plan = p.checkoutRoot(ctx, src, pr, prj, t, req.Delivery, log)
	}
	release, err := p.Slots.Acquire(ctx)
	if err != nil {
		res.Status, res.Error = planbot.StatusFailed, "cancelled before the plan started"
		return res
	}
	defer release()
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
	if _, err := p.Plans.SavePlan(ctx, withResult(store.Plan{
		Repo: pr.Repo.String(), PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA,
		Project: prj.Name, Dir: prj.Dir, Workspace: prj.WorkspaceName(), Kind: string(prj.Kind),
		PlanFile: res.PlanFile, PlanSHA256: res.PlanSHA256, PlanData: planData,
	}, res)); err != nil {
		// Nothing was stored; the comment and the audit log say so.
		log.Error("save plan", "err", err)
		res.Status, res.Error = planbot.StatusFailed, "could not save the plan; run /plan again"
	}
	return res
}

// checkoutRoot checks out the project's own workspace of Terraform root prj,
// a copy of the commit's shared checkout in t, and returns the function
// that plans it there.
func (p *Planner) checkoutRoot(ctx context.Context, src workspaces.Source, pr planbot.PullRequest, prj planbot.Project, t trees, run string, log *slog.Logger) func() planbot.Result {
	// A deleted root only exists on the base: its copy there names the
	// backend and the providers that destroy what its state holds.
	sha, plan, tree := pr.HeadSHA, p.Terraform.Plan, t.head
	if prj.Deleted {
		sha, plan, tree = pr.BaseSHA, p.Terraform.PlanDestroy, t.base
	}
	// The live log of the run gets what terraform prints while it plans.
	live := func(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error) {
		output, closeOutput := liveOutput(ctx, p.Live, pr, run, prj.Name)
		defer closeOutput()
		return plan(ctx, dir, workspace, append(opts, output)...)
	}
	opts := []terraform.RunOption{credentialsEnv(p.Credentials, src.Repo, credentials.Plan), terraform.CacheScope(src.Repo.String())}
	if out, ok := t.fmt[path.Clean(prj.Dir)]; ok && !prj.Deleted {
		opts = append(opts, terraform.Formatted(out))
	} else if p.Slots != nil {
		// A slot free at that moment runs the root's own check beside its
		// plan.
		opts = append(opts, terraform.FmtBeside(p.Slots.TryAcquire))
	}
	return CheckoutRoot(ctx, fromTree(p.Workspaces, tree), src, sha, prj, live, log, opts...)
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
