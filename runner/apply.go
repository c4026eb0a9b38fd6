package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	// Secrets are values masked in everything planbot posts or stores.
	Secrets []string
	// MergeMethod is merge, squash or rebase; "" uses the first method the
	// repository allows. A repository's .planbot.yaml overrides it.
	MergeMethod string
	// Metrics, when set, records applies and merges.
	Metrics *Metrics
	Logger  *slog.Logger
}

// ApplyRequest says which PR to apply and who asked.
type ApplyRequest struct {
	Repo              planbot.Repo
	Number            int
	Actor             string
	Delivery          string
	OnlyName, OnlyDir string
}

// refusal returns the audit entry of a refused apply.
func refusal(repo planbot.Repo, n int, head, actor, delivery, project, reason string) audit.Entry {
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
// to post; refusals are replies, not errors.
func (a *Applier) Apply(ctx context.Context, gh GitHub, req ApplyRequest) (string, error) {
	log := a.Logger.With("repo", req.Repo.String(), "pr", req.Number, "delivery", req.Delivery, "command", "apply")
	pr, err := gh.PullRequest(ctx, req.Repo, req.Number)
	if err != nil {
		return "", err
	}
	refuse := func(project, reason string) (string, error) {
		log.Info("apply refused", "reason", reason)
		a.Metrics.applied("refused")
		appendAudit(ctx, a.Audit, log, refusal(req.Repo, req.Number, pr.HeadSHA, req.Actor, req.Delivery, project, reason))
		if err := gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "apply refused: "+firstLine(reason), pr.HTMLURL); err != nil {
			log.Warn("set apply status", "err", err)
		}
		return "🚫 **apply refused**: " + reason, nil
	}
	switch {
	case pr.Merged:
		return refuse("", "this pull request is already merged.")
	case pr.State != "open":
		return refuse("", "this pull request is closed.")
	case pr.Draft:
		return refuse("", "this pull request is a draft; mark it ready for review first.")
	}

	plans, err := a.Plans.Plans(ctx, req.Repo.String(), req.Number, pr.HeadSHA)
	if err != nil {
		return "", err
	}
	if len(plans) == 0 {
		return refuse("", a.noPlanReason(ctx, pr))
	}
	selected, err := selectPlans(plans, req.OnlyName, req.OnlyDir)
	if err != nil {
		return refuse("", planbot.ErrorMessage(err))
	}
	for _, p := range selected {
		switch planbot.Status(p.Status) {
		case planbot.StatusPlanned, planbot.StatusNoChange, planbot.StatusApplied:
		case planbot.StatusDeleted:
			if p.Kind != string(planbot.KindKustomize) {
				return refuse(p.Project, fmt.Sprintf("`%s` has no successful plan for %s (it %s); fix it and run /plan.", p.Project, short(pr.HeadSHA), p.Status))
			}
		case planbot.StatusLocked:
			return refuse(p.Project, fmt.Sprintf("`%s` is locked by another pull request; run /plan once it is free.", p.Project))
		default:
			return refuse(p.Project, fmt.Sprintf("`%s` has no successful plan for %s (it %s); fix it and run /plan.", p.Project, short(pr.HeadSHA), p.Status))
		}
	}

	// An apply that was cut short is never run again, and a saved plan made
	// before such an apply is not applied.
	history, err := a.Audit.Audit(ctx, store.AuditFilter{Repo: req.Repo.String(), PR: req.Number})
	if err != nil {
		return "", fmt.Errorf("read the audit log: %w", err)
	}
	if pending := pendingApplies(history, pr.HeadSHA, selected); len(pending) > 0 {
		return a.interrupted(ctx, gh, req, pr, pending, log), nil
	}
	for _, p := range selected {
		if replanNeeded(history, pr.HeadSHA, p.Project) {
			return refuse(p.Project, fmt.Sprintf("an earlier apply of `%s` at %s was interrupted and its plan was made before that; check the state, then run /plan and /apply again.", p.Project, short(pr.HeadSHA)))
		}
	}

	// The base branch must not have changed a project since its plan.
	token, err := gh.Token(ctx)
	if err != nil {
		return "", err
	}
	src := source(pr, token)
	if err := a.Workspaces.Sync(ctx, src); err != nil {
		return "", err
	}
	tree, err := a.Workspaces.Checkout(ctx, src, pr.HeadSHA, "_tree")
	if err != nil {
		return "", err
	}
	for _, p := range selected {
		dirs := inputs(tree, p)
		touched, err := a.Base.BaseTouched(ctx, req.Repo, pr.BaseRef, p.BaseSHA, dirs)
		if err != nil {
			return "", err
		}
		if touched {
			return refuse(p.Project, fmt.Sprintf("`%s` or a module it uses (%s) changed on `%s` after it was planned on %s; run /plan to plan against the current base.",
				p.Project, strings.Join(dirs, ", "), pr.BaseRef, short(p.BaseSHA)))
		}
	}

	cfg, err := repoConfig(ctx, gh, pr)
	if err != nil {
		return refuse("", planbot.ErrorMessage(err))
	}
	if reason, err := a.requirements(ctx, gh, cfg, pr); err != nil {
		return "", err
	} else if reason != "" {
		return refuse("", reason)
	}

	// Every changed file must be approved by its code owners at head. The
	// whole PR is merged in the end, so every file of it counts.
	decision, err := a.approval(ctx, gh, pr)
	if err != nil {
		return "", err
	}
	if !decision.Approved {
		return refuse("", "the approvals are not complete at "+short(pr.HeadSHA)+":\n\n"+bullets(decision.Reason()))
	}

	for _, p := range selected {
		holder, ok, err := a.Locks.AcquireLock(ctx, store.Lock{
			Repo: req.Repo.String(), Dir: p.Dir, Workspace: p.Workspace, PR: req.Number, HeadSHA: pr.HeadSHA, User: req.Actor,
		})
		if err != nil {
			return "", err
		}
		if !ok {
			return refuse(p.Project, fmt.Sprintf("`%s` is locked by #%d.", p.Dir, holder.PR))
		}
	}

	if err := gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "pending", "applying…", pr.HTMLURL); err != nil {
		log.Warn("set apply status", "err", err)
	}
	var out strings.Builder
	// dryRun holds the projects a dry-run terraform apply stopped short of
	// applying: the merge that would follow is asked of GitHub's dry-run
	// adapter in turn, so the whole /apply is rehearsed and audited.
	dryRun := make(map[string]bool)
	for _, p := range selected {
		msg, err := a.applyOne(ctx, req, src, pr, p, decision.Approvers, log.With("project", p.Project))
		out.WriteString(msg)
		if errors.Is(err, planbot.ErrDryRun) {
			dryRun[p.Project] = true
			continue
		}
		if err != nil {
			gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "apply of "+p.Project+" failed", pr.HTMLURL)
			a.refreshComment(ctx, gh, pr)
			return out.String(), nil
		}
	}
	a.refreshComment(ctx, gh, pr)

	// Merge once every project of the PR at head is applied.
	all, err := a.Plans.Plans(ctx, req.Repo.String(), req.Number, pr.HeadSHA)
	if err != nil {
		return "", err
	}
	if !cfg.Automerge {
		gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "success", "applied; automerge is off", pr.HTMLURL)
		if len(dryRun) > 0 {
			out.WriteString("\nAutomerge is off in `.planbot.yaml`, so planbot would not merge.")
			return out.String(), nil
		}
		out.WriteString("\nAutomerge is off in `.planbot.yaml`: merge this pull request yourself now, so that the base branch matches what is applied.")
		return out.String(), nil
	}
	for _, p := range all {
		if !done(p) && !dryRun[p.Project] {
			gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "pending", "applied some projects; more to apply", pr.HTMLURL)
			out.WriteString(fmt.Sprintf("\n`%s` is not applied yet; run `/apply -p %s` to apply it, then planbot merges.", p.Project, p.Project))
			return out.String(), nil
		}
	}
	method := a.MergeMethod
	if cfg.MergeMethod != "" {
		method = cfg.MergeMethod
	}
	out.WriteString(a.merge(ctx, gh, req, pr, method, decision.Approvers, log))
	return out.String(), nil
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

func (a *Applier) noPlanReason(ctx context.Context, pr planbot.PullRequest) string {
	locks, err := a.Locks.Locks(ctx, pr.Repo.String())
	if err == nil {
		for _, l := range locks {
			if l.PR == pr.Number && l.HeadSHA != "" && l.HeadSHA != pr.HeadSHA {
				return fmt.Sprintf("plan is for %s but head is %s, run /plan.", short(l.HeadSHA), short(pr.HeadSHA))
			}
		}
	}
	return fmt.Sprintf("there is no plan for head %s, run /plan.", short(pr.HeadSHA))
}

func selectPlans(plans []store.Plan, name, dir string) ([]store.Plan, error) {
	var ps []planbot.Project
	for _, p := range plans {
		ps = append(ps, planbot.Project{Name: p.Project, Dir: p.Dir})
	}
	keep, err := filterProjects(ps, name, dir)
	if err != nil {
		return nil, err
	}
	var out []store.Plan
	for _, p := range plans {
		for _, k := range keep {
			if k.Name == p.Project {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (a *Applier) approval(ctx context.Context, gh GitHub, pr planbot.PullRequest) (codeowners.Decision, error) {
	f, err := codeowners.Load(ctx, gh, pr.Repo, pr.BaseSHA)
	if err != nil {
		return codeowners.Decision{}, err
	}
	files, err := gh.ChangedFiles(ctx, pr.Repo, pr.Number)
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
		output, err = a.Terraform.Apply(ctx, dir, planFile, p.PlanSHA256, credentialsEnv(a.Credentials, src.Repo, credentials.Apply))
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
		result.Detail = "terraform apply not run"
	}
	appendAudit(ctx, a.Audit, log, result)
	a.Metrics.applied(result.Outcome)
	if result.Outcome == "dry_run" {
		log.Info("dry run: not applied")
		return fmt.Sprintf("🧪 **dry run: `%s` not applied**: the saved plan (sha256 `%s`) checks out, and planbot runs with `--dry-run`, so it ran no terraform apply.\n\n",
			p.Project, short(p.PlanSHA256)), err
	}
	if err != nil {
		log.Error("apply failed", "err", err)
		return fmt.Sprintf("❌ **apply of `%s` failed**: %s\n\n<details><summary>Output</summary>\n\n```\n%s\n```\n</details>\n",
			p.Project, planbot.ErrorMessage(err), tail(output, 20000)), err
	}
	var res planbot.Result
	_ = json.Unmarshal(p.Result, &res)
	res.Status = planbot.StatusApplied
	res.Output = output // the comment shows what the apply did
	p.Result, _ = json.Marshal(res)
	p.Status = string(planbot.StatusApplied)
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
	if sum, err := fileSHA256(p.PlanFile); err == nil && sum == p.PlanSHA256 {
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
	if err := a.Terraform.Prepare(ctx, dir, p.Workspace, terraform.Root(root), credentialsEnv(a.Credentials, src.Repo, credentials.Apply)); err != nil {
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
	var res struct{ Project planbot.Project }
	return json.Unmarshal(p.Result, &res) == nil && res.Project.Deleted && p.Kind == string(planbot.KindTerraform)
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// mergeGitHub is what merging needs from GitHub.
type mergeGitHub interface {
	Merge(ctx context.Context, repo planbot.Repo, number int, sha, method, title string) (string, error)
	DefaultMergeMethod(ctx context.Context, repo planbot.Repo) (string, error)
	SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error
}

// merge merges the PR at the applied head. A failed merge after an apply is
// reported loudly: the PR must never stay silently unmerged. When the
// merge's intent cannot be written to the audit log, nothing is merged.
func (a *Applier) merge(ctx context.Context, gh mergeGitHub, req ApplyRequest, pr planbot.PullRequest, method string, approvers []audit.Approver, log *slog.Logger) string {
	entry := audit.Entry{
		Repo: req.Repo.String(), PR: req.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA,
		Actor: req.Actor, Approvers: approvers, DeliveryID: req.Delivery,
	}
	intent := entry
	intent.Action, intent.Outcome, intent.Detail = audit.ActionApplyRequested, "started", "merge"
	if _, _, err := a.Audit.AppendAudit(ctx, intent); err != nil {
		log.Error("merge aborted: its intent cannot be audited", "err", err)
		a.Metrics.merged("aborted")
		gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "not merged: the merge could not be audited", pr.HTMLURL)
		return fmt.Sprintf("\n❌ **Not merged**: planbot could not write the merge's intent to the audit log, and it merges nothing it has not recorded first. Whatever was applied above stays applied while `%s` does not have it: comment `/apply` again once the audit log is writable (applied projects are not applied twice), or merge this pull request by hand.",
			pr.BaseRef)
	}
	var err error
	if method == "" {
		method, err = gh.DefaultMergeMethod(ctx, req.Repo)
	}
	var sha string
	if err == nil {
		sha, err = gh.Merge(ctx, req.Repo, req.Number, pr.HeadSHA, method, fmt.Sprintf("%s (#%d)", pr.Title, pr.Number))
	}
	result := entry
	result.Action, result.Outcome = audit.ActionMerge, outcome(err, "merged")
	switch result.Outcome {
	case "merged":
		result.Detail = sha
	case "dry_run":
		result.Detail = "not merged (" + method + ")"
	default:
		result.Detail = planbot.ErrorMessage(err)
	}
	appendAudit(ctx, a.Audit, log, result)
	a.Metrics.merged(result.Outcome)
	if result.Outcome == "dry_run" {
		log.Info("dry run: not merged", "method", method)
		gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "success", "dry run: nothing applied or merged", pr.HTMLURL)
		return fmt.Sprintf("\n🧪 **dry run: not merged**: planbot runs with `--dry-run`; without it, it would now merge with method `%s`.", method)
	}
	if err != nil {
		log.Error("merge failed", "err", err)
		gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "applied, but the merge failed", pr.HTMLURL)
		return fmt.Sprintf("\n❌ **The changes are applied, but the merge failed**: %s\n\nThe infrastructure now runs this PR's code while `%s` does not. Merge this pull request by hand (or fix the problem and comment `/apply` again) as soon as possible.",
			planbot.ErrorMessage(err), pr.BaseRef)
	}
	gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "success", "applied and merged", pr.HTMLURL)
	if _, err := a.Locks.ReleasePR(ctx, req.Repo.String(), req.Number); err != nil {
		log.Error("release locks after merge", "err", err)
	}
	log.Info("merged", "merge_sha", sha)
	return fmt.Sprintf("\n🎉 merged as %s.", short(sha))
}

// outcome returns the audit outcome of a write that returned err: done
// when it happened, dry_run when the adapter is in dry-run mode and wrote
// nothing, failed otherwise.
func outcome(err error, done string) string {
	switch {
	case err == nil:
		return done
	case errors.Is(err, planbot.ErrDryRun):
		return "dry_run"
	}
	return "failed"
}

// pendingApplies returns the apply intents without an outcome (see
// audit.PendingApplies) of the selected projects at head.
func pendingApplies(history []audit.Entry, head string, selected []store.Plan) []audit.Entry {
	var out []audit.Entry
	for _, e := range audit.PendingApplies(history) {
		for _, p := range selected {
			if e.HeadSHA == head && e.Project == p.Project {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// replanNeeded reports whether project's newest plan at head was made
// before its newest interrupted apply there: that plan was made against a
// state the interrupted apply may have changed. Audit entries are ordered
// by seq, so no clocks are compared.
func replanNeeded(history []audit.Entry, head, project string) bool {
	var interrupted, planned int64
	for _, e := range history {
		if e.HeadSHA != head || e.Project != project {
			continue
		}
		switch e.Action {
		case audit.ActionApplyInterrupted:
			interrupted = e.Seq
		case audit.ActionPlan:
			planned = e.Seq
		}
	}
	return interrupted > planned
}

// interrupted answers an /apply that found apply intents without an
// outcome: it records each as apply_interrupted, runs nothing, and says
// what to do.
func (a *Applier) interrupted(ctx context.Context, gh GitHub, req ApplyRequest, pr planbot.PullRequest, pending []audit.Entry, log *slog.Logger) string {
	if err := gh.SetStatus(ctx, req.Repo, pr.HeadSHA, StatusApply, "failure", "an earlier apply was interrupted; its outcome is unknown", pr.HTMLURL); err != nil {
		log.Warn("set apply status", "err", err)
	}
	return a.interruptedText(ctx, req, pending, log)
}

// interruptedText records each of the intents as apply_interrupted and
// returns the reply that explains it.
func (a *Applier) interruptedText(ctx context.Context, req ApplyRequest, pending []audit.Entry, log *slog.Logger) string {
	var b strings.Builder
	seen := make(map[string]bool)
	var names []string
	for _, in := range pending {
		e := audit.Entry{
			Repo: in.Repo, PR: in.PR, HeadSHA: in.HeadSHA, BaseSHA: in.BaseSHA, Project: in.Project,
			Action: audit.ActionApplyInterrupted, Actor: req.Actor, Approvers: in.Approvers, Outcome: "unknown",
			Detail:     fmt.Sprintf("apply requested by %s (seq %d) has no outcome; found by delivery %s, not run again", in.Actor, in.Seq, req.Delivery),
			PlanSHA256: in.PlanSHA256, DeliveryID: in.DeliveryID,
		}
		appendAudit(ctx, a.Audit, log, e)
		a.Metrics.applied("interrupted")
		log.Warn("earlier apply interrupted; not run again", "project", in.Project, "sha", in.HeadSHA, "intent_seq", in.Seq, "intent_delivery", in.DeliveryID)
		if !seen[in.Project] {
			seen[in.Project] = true
			names = append(names, "`"+in.Project+"`")
		}
	}
	fmt.Fprintf(&b, "⚠️ **an earlier apply was interrupted**: planbot stopped while it applied %s at %s, before it could record how that apply ended, so **its outcome is unknown**: terraform may have changed some, all or none of the resources. planbot does not run that apply again.\n\n",
		strings.Join(names, ", "), short(pending[0].HeadSHA))
	b.WriteString("To go on:\n\n")
	b.WriteString("1. Check the state: look at the resources and the state's history in your backend, and release a stale state lock (`terraform force-unlock`) if one was left behind.\n")
	b.WriteString("2. Comment `/plan`: the new plan shows what is left to do.\n")
	b.WriteString("3. Once the new plan is reviewed, comment `/apply` again.\n")
	return b.String()
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
	if err := comment.Upsert(ctx, gh, bot, pr.Repo, pr.Number, parts); err != nil {
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
