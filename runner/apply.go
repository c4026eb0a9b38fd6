package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/credentials"
	"github.com/planbot/planbot/project"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/workspaces"
)

// ApplyGitHub is what applying needs from GitHub beyond planning.
type ApplyGitHub interface {
	codeowners.GitHub
	React(ctx context.Context, repo planbot.Repo, commentID int64, content string) error
	Merge(ctx context.Context, repo planbot.Repo, number int, sha, method, title string) (string, error)
	// DefaultMergeMethod returns the first method the repository allows.
	DefaultMergeMethod(ctx context.Context, repo planbot.Repo) (string, error)
}

// TerraformApply applies a saved plan.
type TerraformApply interface {
	// Prepare makes a fresh checkout ready to apply a saved plan (init and
	// workspace selection).
	Prepare(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) error
	Apply(ctx context.Context, dir, planFile, wantSHA256 string, opts ...terraform.RunOption) (string, error)
}

// BaseChecker compares a PR with its base branch as of the last sync.
type BaseChecker interface {
	// BaseTouched reports whether the base branch changed one of dirs
	// after sinceSHA.
	BaseTouched(ctx context.Context, repo planbot.Repo, baseRef, sinceSHA string, dirs []string) (bool, error)
	// HeadContainsBase reports whether the PR head contains the base tip.
	HeadContainsBase(ctx context.Context, repo planbot.Repo, baseRef, headSHA string) (bool, error)
	// ChangedFiles lists the files headSHA changes relative to its merge
	// base with baseSHA, as GitHub's list of a pull request's files does;
	// both commits must have been fetched.
	ChangedFiles(ctx context.Context, repo planbot.Repo, baseSHA, headSHA string) ([]planbot.ChangedFile, error)
}

// Applier runs /apply: it checks every gate, applies the saved plans and
// merges the PR once everything is applied.
type Applier struct {
	Workspaces Workspaces
	Terraform  TerraformApply
	// Credentials, when set, gives terraform applies their credentials.
	Credentials Credentials
	Base        BaseChecker
	Locks       Locks
	Plans       Plans
	Audit       AuditLog
	Bot         Bot
	// Comments, when set, remembers the ids of the plan comments.
	Comments CommentRecords
	// Secrets are values masked in everything planbot posts or stores.
	Secrets []string
	// MergeMethod is merge, squash or rebase; "" uses the first method the
	// repository allows. A repository's .planbot.yaml overrides it.
	MergeMethod string
	// Metrics, when set, records applies and merges.
	Metrics *Metrics
	// Checks reports whether each applied project gets an apply check
	// run (--checks).
	Checks bool
	// Live, when set, receives terraform's output while it applies.
	Live LiveLog
	// Pages, when set, names the web page the apply status links to.
	Pages  Pages
	Logger *slog.Logger
}

// ApplyRequest says which PR to apply and who asked.
type ApplyRequest struct {
	Repo              planbot.Repo
	Number            int
	Actor             string
	Delivery          string
	OnlyName, OnlyDir string
	// HeadSHA, when set, is the head the apply is for (the commit of a
	// check run whose Apply button was clicked): a pull request that has
	// moved on is refused.
	HeadSHA string
}

// ApplyOutcome is what an /apply did.
type ApplyOutcome struct {
	// Reply is the reply to post on the pull request.
	Reply string
	// Refused is why nothing was applied, "" when the apply ran.
	Refused string
}

// refusalEntry returns the audit entry of a refused apply.
func refusalEntry(repo planbot.Repo, n int, head, actor, delivery, project, reason string) audit.Entry {
	return audit.Entry{
		Repo: repo.String(), PR: n, HeadSHA: head, Project: project, Action: audit.ActionApplyRefused,
		Actor: actor, Outcome: "refused", Detail: reason, DeliveryID: delivery,
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// Apply checks the gates in order (the caller checked the permission),
// applies, and merges when every project is applied. It returns the reply
// to post, and the reason of a refusal; refusals are outcomes, not errors.
func (a *Applier) Apply(ctx context.Context, gh GitHub, req ApplyRequest) (ApplyOutcome, error) {
	log := a.Logger.With("repo", req.Repo.String(), "pr", req.Number, "delivery", req.Delivery, "command", "apply")
	pr, err := gh.PullRequest(ctx, req.Repo, req.Number)
	if err != nil {
		return ApplyOutcome{}, err
	}
	in, err := a.gateInput(ctx, req, pr)
	if err != nil {
		return ApplyOutcome{}, err
	}
	r, selected := gate(in)
	var c clearance
	if r == nil {
		if c, r, err = a.clear(ctx, gh, req, pr, selected); err != nil {
			return ApplyOutcome{}, err
		}
	}
	if r != nil {
		return a.refuse(ctx, gh, req, pr, r, log), nil
	}
	// No pending status: the 👀 reaction acknowledged the command, and the
	// status is written with the outcome.
	out, dryRun, ok := a.applyAll(ctx, gh, req, c, pr, selected, log)
	applied := "applied"
	if !ok {
		applied = "apply failed"
	}
	endLive(ctx, a.Live, pr, req.Delivery, applied)
	if !ok {
		return ApplyOutcome{Reply: out}, nil
	}
	merged, didMerge, err := a.mergeWhenDone(ctx, gh, req, c, pr, dryRun, log)
	if err != nil {
		return ApplyOutcome{}, err
	}
	if !didMerge {
		// After a merge the reply carries each project's apply output and
		// the plan comment keeps the plan that was approved; otherwise the
		// comment shows which projects are applied and which are left.
		a.refreshComment(ctx, gh, pr)
	}
	return ApplyOutcome{Reply: out + merged}, nil
}

// gateInput reads what gate decides on: the saved plans at head, the
// locks when there are none, and the PR's audit log.
func (a *Applier) gateInput(ctx context.Context, req ApplyRequest, pr planbot.PullRequest) (gateInput, error) {
	in := gateInput{PR: pr, OnlyName: req.OnlyName, OnlyDir: req.OnlyDir, WantHead: req.HeadSHA}
	var err error
	if in.Plans, err = a.Plans.Plans(ctx, req.Repo.String(), req.Number, pr.HeadSHA); err != nil {
		return in, err
	}
	if len(in.Plans) == 0 {
		// Only the reason of the refusal needs them; without them it is
		// less precise, not wrong.
		in.Locks, _ = a.Locks.Locks(ctx, pr.Repo.String())
	}
	if in.History, err = a.Audit.Audit(ctx, store.AuditFilter{Repo: req.Repo.String(), PR: req.Number}); err != nil {
		return in, fmt.Errorf("read the audit log: %w", err)
	}
	return in, nil
}

// clearance is what an /apply that passed every gate goes on with.
type clearance struct {
	src       workspaces.Source
	cfg       *config.Repo
	approvers []audit.Approver
}

// clear checks the gates that need GitHub or a checkout, in order: the
// base has not changed a selected project since its plan, the repository's
// apply requirements hold, the code owners approved, and the selected
// projects' locks are taken.
func (a *Applier) clear(ctx context.Context, gh GitHub, req ApplyRequest, pr planbot.PullRequest, selected []store.Plan) (clearance, *refusal, error) {
	var c clearance
	var r *refusal
	var err error
	if c.src, r, err = a.checkBase(ctx, gh, pr, selected); r != nil || err != nil {
		return c, r, err
	}
	if c.cfg, err = repoConfig(ctx, baseFiles{a.Workspaces}, pr); err != nil {
		return c, &refusal{Reason: planbot.ErrorMessage(err)}, nil
	}
	if reason, err := a.requirements(ctx, gh, c.cfg, pr); err != nil || reason != "" {
		return c, &refusal{Reason: reason}, err
	}
	// Every changed file must be approved by its code owners at head. The
	// whole PR is merged in the end, so every file of it counts.
	decision, err := a.approval(ctx, gh, pr)
	if err != nil {
		return c, nil, err
	}
	if !decision.Approved {
		return c, &refusal{Reason: "the approvals are not complete at " + short(pr.HeadSHA) + ":\n\n" + bullets(decision.Reason())}, nil
	}
	c.approvers = decision.Approvers
	r, err = a.lock(ctx, req, pr, selected)
	return c, r, err
}

// checkBase syncs the PR's repository and refuses a selected project that
// the base branch changed after it was planned.
func (a *Applier) checkBase(ctx context.Context, gh GitHub, pr planbot.PullRequest, selected []store.Plan) (workspaces.Source, *refusal, error) {
	token, err := gh.Token(ctx)
	if err != nil {
		return workspaces.Source{}, nil, err
	}
	src := source(pr, token)
	if err := a.Workspaces.Sync(ctx, src); err != nil {
		return src, nil, err
	}
	tree, err := a.Workspaces.Checkout(ctx, src, pr.HeadSHA, "_tree")
	if err != nil {
		return src, nil, err
	}
	for _, p := range selected {
		dirs := inputs(tree, p)
		touched, err := a.Base.BaseTouched(ctx, pr.Repo, pr.BaseRef, p.BaseSHA, dirs)
		if err != nil {
			return src, nil, err
		}
		if touched {
			return src, &refusal{Project: p.Project, Reason: fmt.Sprintf("`%s` or a module it uses (%s) changed on `%s` after it was planned on %s; run /plan to plan against the current base.",
				p.Project, strings.Join(dirs, ", "), pr.BaseRef, short(p.BaseSHA))}, nil
		}
	}
	return src, nil, nil
}

// lock takes the lock of every selected project for the PR.
func (a *Applier) lock(ctx context.Context, req ApplyRequest, pr planbot.PullRequest, selected []store.Plan) (*refusal, error) {
	for _, p := range selected {
		holder, ok, err := a.Locks.AcquireLock(ctx, store.Lock{
			Repo: req.Repo.String(), Dir: p.Dir, Workspace: p.Workspace, PR: req.Number, HeadSHA: pr.HeadSHA, User: req.Actor,
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			return &refusal{Project: p.Project, Reason: fmt.Sprintf("`%s` is locked by #%d.", p.Dir, holder.PR)}, nil
		}
	}
	return nil, nil
}

// refuse records a refusal and returns its outcome. An interrupted apply
// is recorded and explained instead.
func (a *Applier) refuse(ctx context.Context, gh GitHub, req ApplyRequest, pr planbot.PullRequest, r *refusal, log *slog.Logger) ApplyOutcome {
	if len(r.Interrupted) > 0 {
		reply := a.interrupted(ctx, gh, req, pr, r.Interrupted, log)
		return ApplyOutcome{Reply: reply, Refused: "an earlier apply was interrupted and its outcome is unknown; see the pull request's conversation."}
	}
	log.Info("apply refused", "reason", r.Reason)
	a.Metrics.applied("refused")
	appendAudit(ctx, a.Audit, log, refusalEntry(req.Repo, req.Number, pr.HeadSHA, req.Actor, req.Delivery, r.Project, r.Reason))
	a.setStatus(ctx, gh, pr, "failure", "apply refused: "+firstLine(r.Reason), log)
	return ApplyOutcome{Reply: "🚫 **apply refused**: " + r.Reason, Refused: r.Reason}
}

// statusSetter sets commit statuses.
type statusSetter interface {
	SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error
}

// setStatus sets the apply status of the PR's head, linking to the PR's
// page when there is one. A failure is logged: the status only reflects
// what the reply says.
func (a *Applier) setStatus(ctx context.Context, gh statusSetter, pr planbot.PullRequest, state, desc string, log *slog.Logger) {
	if err := gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusApply, state, desc, pullURL(a.Pages, pr)); err != nil {
		log.Warn("set apply status", "state", state, "err", err)
	}
}

// applyAll applies the selected projects in order. It reports false when
// an apply failed, after refreshing the plan comment: nothing after it runs.
// dryRun holds the projects a dry-run terraform apply stopped short of
// applying: the merge that would follow is asked of GitHub's dry-run
// adapter in turn, so the whole /apply is rehearsed and audited.
func (a *Applier) applyAll(ctx context.Context, gh GitHub, req ApplyRequest, c clearance, pr planbot.PullRequest, selected []store.Plan, log *slog.Logger) (out string, dryRun map[string]bool, ok bool) {
	var b strings.Builder
	dryRun = make(map[string]bool)
	for _, p := range selected {
		plog := log.With("project", p.Project)
		began := time.Now()
		msg, err := a.applyOne(ctx, req, c.src, pr, p, c.approvers, plog)
		a.applyCheck(ctx, gh, pr, p, began, msg, err, plog)
		b.WriteString(msg)
		if errors.Is(err, planbot.ErrDryRun) {
			dryRun[p.Project] = true
			continue
		}
		if err != nil {
			a.setStatus(ctx, gh, pr, "failure", "apply of "+p.Project+" failed", log)
			a.refreshComment(ctx, gh, pr)
			return b.String(), dryRun, false
		}
	}
	return b.String(), dryRun, true
}

// mergeWhenDone merges the PR once every project of it at head is applied
// and automerge is on, and otherwise says what is left to do. It reports
// whether the PR was merged.
func (a *Applier) mergeWhenDone(ctx context.Context, gh GitHub, req ApplyRequest, c clearance, pr planbot.PullRequest, dryRun map[string]bool, log *slog.Logger) (string, bool, error) {
	all, err := a.Plans.Plans(ctx, req.Repo.String(), req.Number, pr.HeadSHA)
	if err != nil {
		return "", false, err
	}
	if !c.cfg.Automerge {
		a.setStatus(ctx, gh, pr, "success", "applied; automerge is off", log)
		if len(dryRun) > 0 {
			return "\nAutomerge is off in `.planbot.yaml`, so planbot would not merge.", false, nil
		}
		return "\nAutomerge is off in `.planbot.yaml`: merge this pull request yourself now, so that the base branch matches what is applied.", false, nil
	}
	for _, p := range all {
		if !done(p) && !dryRun[p.Project] {
			a.setStatus(ctx, gh, pr, "pending", "applied some projects; more to apply", log)
			return fmt.Sprintf("\n`%s` is not applied yet; run `/apply -p %s` to apply it, then planbot merges.", p.Project, p.Project), false, nil
		}
	}
	reply, merged := a.merge(ctx, gh, req, pr, mergeMethod(c.cfg, a.MergeMethod), c, log)
	return reply, merged, nil
}

// done reports whether a project needs nothing more before the merge:
// Terraform projects are applied or had no changes, manifest projects are
// applied by the merge itself.
func done(p store.Plan) bool {
	switch planbot.Status(p.Status) {
	case planbot.StatusApplied, planbot.StatusNoChange:
		return true
	}
	if p.Kind != string(planbot.KindKustomize) {
		return false
	}
	// A changed or deleted overlay reaches the cluster with the merge.
	return p.Status == string(planbot.StatusPlanned) || p.Status == string(planbot.StatusDeleted)
}

// inputs returns the dirs whose changes change a project's plan: a
// Terraform root and its local modules, or a Kustomize overlay and the
// kustomizations it includes. When they cannot be read, the project's own
// dir stands for them.
func inputs(tree string, p store.Plan) []string {
	var dirs []string
	var err error
	if p.Kind == string(planbot.KindKustomize) {
		dirs, err = kustomize.Inputs(tree, p.Dir)
	} else {
		dirs, err = project.Inputs(tree, p.Dir)
	}
	if err != nil || len(dirs) == 0 {
		return []string{p.Dir}
	}
	return dirs
}

// requirements checks the extra apply requirements of the repo config and
// returns why they are not met, "" when they are.
func (a *Applier) requirements(ctx context.Context, gh GitHub, cfg *config.Repo, pr planbot.PullRequest) (string, error) {
	if cfg.Requires(config.RequireMergeable) {
		// GitHub computes mergeability in the background: null means
		// "ask again shortly".
		for i := 0; pr.Mergeable == nil && i < 5; i++ {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(i+1) * 200 * time.Millisecond):
			}
			var err error
			if pr, err = gh.PullRequest(ctx, pr.Repo, pr.Number); err != nil {
				return "", err
			}
		}
		switch {
		case pr.Mergeable == nil:
			return "GitHub has not finished computing whether this pull request is mergeable; try /apply again in a minute.", nil
		case !*pr.Mergeable:
			return "the repository requires a mergeable pull request, and this one conflicts with `" + pr.BaseRef + "`.", nil
		}
	}
	if cfg.Requires(config.RequireUndiverged) {
		ok, err := a.Base.HeadContainsBase(ctx, pr.Repo, pr.BaseRef, pr.HeadSHA)
		if err != nil {
			return "", err
		}
		if !ok {
			return "the repository requires an up-to-date pull request, and `" + pr.BaseRef + "` has commits this one does not contain: update the branch and run /plan.", nil
		}
	}
	return "", nil
}

func (a *Applier) approval(ctx context.Context, gh GitHub, pr planbot.PullRequest) (codeowners.Decision, error) {
	f, err := codeowners.Load(ctx, baseFiles{a.Workspaces}, pr.Repo, pr.BaseSHA)
	if err != nil {
		return codeowners.Decision{}, err
	}
	// The files come from the commits checkBase fetched, not from the
	// API: the same three-dot diff GitHub lists, without its 3,000-file cap.
	files, err := a.Base.ChangedFiles(ctx, pr.Repo, pr.BaseSHA, pr.HeadSHA)
	if err != nil {
		return codeowners.Decision{}, err
	}
	return codeowners.Check(ctx, gh, f, codeowners.Input{
		Repo: pr.Repo, Number: pr.Number, Author: pr.Author, HeadSHA: pr.HeadSHA, Paths: codeowners.Paths(files),
	})
}

// applyOne applies one project's saved plan, with audit entries before and
// after.
func (a *Applier) applyOne(ctx context.Context, req ApplyRequest, src workspaces.Source, pr planbot.PullRequest, p store.Plan, approvers []audit.Approver, log *slog.Logger) (string, error) {
	if p.Status == string(planbot.StatusApplied) {
		return fmt.Sprintf("✅ `%s` was already applied.\n", p.Project), nil
	}
	if p.Kind == string(planbot.KindKustomize) || p.Status == string(planbot.StatusNoChange) {
		return "", nil // applied by the merge, or nothing to apply
	}
	entry := audit.Entry{
		Repo: req.Repo.String(), PR: req.Number, HeadSHA: pr.HeadSHA, BaseSHA: p.BaseSHA, Project: p.Project,
		Actor: req.Actor, Approvers: approvers, PlanSHA256: p.PlanSHA256, DeliveryID: req.Delivery,
	}
	if deletedRoot(p) {
		entry.Detail = "destroy: the pull request deletes the root"
	}
	intent := entry
	intent.Action, intent.Outcome = audit.ActionApplyRequested, "started"
	stored, inserted, err := a.Audit.AppendAudit(ctx, intent)
	if err != nil {
		log.Error("apply not run: its intent cannot be audited", "err", err)
		return fmt.Sprintf("❌ **`%s` was not applied**: planbot could not write its intent to the audit log, and it runs no apply it has not recorded first. Nothing ran; comment `/apply` again once the audit log is writable.\n", p.Project),
			fmt.Errorf("audit apply intent: %w", err)
	}
	if !inserted {
		// This delivery requested this apply before, although Apply found
		// no pending intent: never run it twice.
		return a.interruptedText(ctx, req, []audit.Entry{stored}, log), planbot.Errorf(planbot.ECONFLICT, "the apply of `%s` was requested before by this delivery", p.Project)
	}
	log.Info("applying")
	dir, planFile, err := a.planWorkspace(ctx, src, pr, p)
	output := ""
	if err == nil {
		live, closeLive := liveOutput(ctx, a.Live, pr, req.Delivery, p.Project)
		opts := []terraform.RunOption{terraform.UseEngine(planEngine(p)), credentialsEnv(a.Credentials, src.Repo, credentials.Apply), live}
		// A root's copy has no .git entry by which terraform would find
		// the directory it may write to.
		if root, err := a.Workspaces.WorkspaceOf(dir); err == nil {
			opts = append(opts, terraform.Root(root))
		}
		output, err = a.Terraform.Apply(ctx, dir, planFile, p.PlanSHA256, opts...)
		closeLive()
	}
	output = redact.String(output, a.Secrets)
	result := entry
	result.Action, result.Outcome = audit.ActionApply, outcome(err, "applied")
	switch result.Outcome {
	case "failed":
		result.Detail = redact.String(planbot.ErrorMessage(err), a.Secrets)
		if entry.Detail != "" {
			result.Detail = entry.Detail + ": " + result.Detail
		}
	case "dry_run":
		result.Detail = planEngine(p).Or(planbot.EngineTerraform).Command() + " apply not run"
	}
	appendAudit(ctx, a.Audit, log, result)
	a.Metrics.applied(result.Outcome)
	if result.Outcome == "dry_run" {
		log.Info("dry run: not applied")
		return fmt.Sprintf("🧪 **dry run: `%s` not applied**: the saved plan (sha256 `%s`) checks out, and planbot runs with `--dry-run`, so it ran no %s apply.\n\n",
			p.Project, short(p.PlanSHA256), planEngine(p).Or(planbot.EngineTerraform).Command()), err
	}
	if err != nil {
		log.Error("apply failed", "err", err)
		return fmt.Sprintf("❌ **apply of `%s` failed**: %s\n\n<details><summary>Output</summary>\n\n```\n%s\n```\n</details>\n",
			p.Project, planbot.ErrorMessage(err), tail(output, 20000)), err
	}
	res, _ := savedResult(p)
	res.Status = planbot.StatusApplied
	res.Output = output // the comment shows what the apply did
	p = withResult(p, res)
	if _, err := a.Plans.SavePlan(ctx, p); err != nil {
		log.Error("record applied plan", "err", err)
	}
	return fmt.Sprintf("✅ **applied `%s`** (plan sha256 `%s`)\n\n<details><summary>Output</summary>\n\n```\n%s\n```\n</details>\n\n",
		p.Project, short(p.PlanSHA256), tail(output, 20000)), nil
}

// planWorkspace returns the directory and saved plan file to apply: the
// workspace the plan was made in when it is still here, else (another
// replica planned, or the workspace was cleaned up) a fresh checkout of the
// head (of the base, for a deleted root), prepared for the stored plan.
func (a *Applier) planWorkspace(ctx context.Context, src workspaces.Source, pr planbot.PullRequest, p store.Plan) (dir, planFile string, err error) {
	if sum, err := terraform.FileSHA256(p.PlanFile); err == nil && sum == p.PlanSHA256 {
		return filepath.Dir(p.PlanFile), p.PlanFile, nil
	}
	if len(p.PlanData) == 0 {
		return "", "", planbot.Errorf(planbot.ENOTFOUND, "the saved plan of `%s` is gone; run /plan", p.Project)
	}
	// A deleted root's destroy was planned in the base's copy of it.
	sha := pr.HeadSHA
	if deletedRoot(p) {
		sha = p.BaseSHA
	}
	root, err := a.Workspaces.Checkout(ctx, src, sha, p.Project)
	if err != nil {
		return "", "", err
	}
	if dir, err = workspaces.SafeJoin(root, p.Dir); err != nil {
		return "", "", err
	}
	if err := a.Terraform.Prepare(ctx, dir, p.Workspace, terraform.Root(root), terraform.UseEngine(planEngine(p)), credentialsEnv(a.Credentials, src.Repo, credentials.Apply)); err != nil {
		return "", "", err
	}
	planFile = filepath.Join(dir, terraform.PlanFileName)
	if err := os.WriteFile(planFile, p.PlanData, 0o600); err != nil {
		return "", "", fmt.Errorf("restore saved plan: %w", err)
	}
	a.Logger.Info("restored the saved plan in a fresh workspace", "project", p.Project, "dir", dir)
	return dir, planFile, nil
}

// deletedRoot reports whether p is the destroy plan of a root that the
// pull request deletes.
func deletedRoot(p store.Plan) bool {
	res, err := savedResult(p)
	return err == nil && res.Project.Deleted && p.Kind == string(planbot.KindTerraform)
}

// refreshComment re-renders the plan comment from the stored plans, so it
// shows what was applied.
func (a *Applier) refreshComment(ctx context.Context, gh GitHub, pr planbot.PullRequest) {
	results := storedResults(ctx, a.Plans, pr, a.Logger)
	parts := comment.Render(comment.Report{
		Repo: pr.Repo, PR: pr.Number, HeadSHA: pr.HeadSHA, HeadURL: commitURL(pr), Results: results, Command: "apply",
	}, comment.Options{Secrets: a.Secrets})
	bot, err := a.Bot.BotLogin(ctx)
	if err != nil {
		a.Logger.Warn("refresh plan comment", "err", err)
		return
	}
	if err := upsertComment(ctx, gh, a.Comments, bot, pr, parts, false, a.Logger); err != nil {
		a.Logger.Warn("refresh plan comment", "err", err)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func bullets(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "… (output cut) …\n" + s[len(s)-n:]
}
