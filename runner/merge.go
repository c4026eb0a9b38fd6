package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/config"
)

// mergeGitHub is what merging needs from GitHub.
type mergeGitHub interface {
	statusSetter
	Merge(ctx context.Context, repo planbot.Repo, number int, sha, method, title string) (string, error)
	DefaultMergeMethod(ctx context.Context, repo planbot.Repo) (string, error)
}

// merge merges the PR at the applied head. A failed merge after an apply is
// reported loudly: the PR must never stay silently unmerged. When the
// merge's intent cannot be written to the audit log, nothing is merged.
func (a *Applier) merge(ctx context.Context, gh mergeGitHub, req ApplyRequest, pr planbot.PullRequest, method string, c clearance, log *slog.Logger) (string, bool) {
	entry := audit.Entry{
		Repo: req.Repo.String(), PR: req.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA,
		Actor: req.Actor, Approvers: c.approvers, DeliveryID: req.Delivery,
	}
	intent := entry
	intent.Action, intent.Outcome, intent.Detail = audit.ActionApplyRequested, "started", "merge"
	if _, _, err := a.Audit.AppendAudit(ctx, intent); err != nil {
		log.Error("merge aborted: its intent cannot be audited", "err", err)
		a.Metrics.merged("aborted")
		a.setStatus(ctx, gh, pr, "failure", "not merged: the merge could not be audited", log)
		return fmt.Sprintf("\n❌ **Not merged**: planbot could not write the merge's intent to the audit log, and it merges nothing it has not recorded first. Whatever was applied above stays applied while `%s` does not have it: comment `/apply` again once the audit log is writable (applied projects are not applied twice), or merge this pull request by hand.",
			pr.BaseRef), false
	}
	// The status comes before the merge: branch protection may require
	// planbot/apply, and GitHub then merges only a head where it is
	// success. A failed merge sets it to failure below.
	a.setStatus(ctx, gh, pr, "success", "applied", log)
	sha, method, err := a.mergeWith(ctx, gh, req, pr, method)
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
		a.setStatus(ctx, gh, pr, "success", "dry run: nothing applied or merged", log)
		return fmt.Sprintf("\n🧪 **dry run: not merged**: planbot runs with `--dry-run`; without it, it would now merge with method `%s`.", method), false
	}
	if err != nil {
		log.Error("merge failed", "err", err)
		a.setStatus(ctx, gh, pr, "failure", "applied, but the merge failed", log)
		return fmt.Sprintf("\n❌ **The changes are applied, but the merge failed**: %s\n\nThe infrastructure now runs this PR's code while `%s` does not. Merge this pull request by hand (or fix the problem and comment `/apply` again) as soon as possible.",
			planbot.ErrorMessage(err), pr.BaseRef), false
	}
	if _, err := a.Locks.ReleasePR(ctx, req.Repo.String(), req.Number); err != nil {
		log.Error("release locks after merge", "err", err)
	}
	log.Info("merged", "merge_sha", sha)
	return fmt.Sprintf("\n🎉 merged as %s.", short(sha)), true
}

// mergeMethod returns the repository's merge method, else the server's.
func mergeMethod(cfg *config.Repo, server string) string {
	if cfg.MergeMethod != "" {
		return cfg.MergeMethod
	}
	return server
}

// defaultMethod is the method tried first when neither .planbot.yaml nor
// --merge-method names one: the first of GitHub's order merge, squash,
// rebase, allowed unless the repository's settings disable it.
const defaultMethod = "merge"

// mergeWith merges the PR with method. Without a method it tries
// defaultMethod, which is what the repository's settings give unless they
// disallow merge commits; only when that merge fails does it read the
// settings, and it tries again when they name another method. The common
// case costs one call instead of two, and the method is the same.
func (a *Applier) mergeWith(ctx context.Context, gh mergeGitHub, req ApplyRequest, pr planbot.PullRequest, method string) (sha, used string, err error) {
	title := fmt.Sprintf("%s (#%d)", pr.Title, pr.Number)
	if method != "" {
		sha, err = gh.Merge(ctx, req.Repo, req.Number, pr.HeadSHA, method, title)
		return sha, method, err
	}
	sha, err = gh.Merge(ctx, req.Repo, req.Number, pr.HeadSHA, defaultMethod, title)
	if err == nil || errors.Is(err, planbot.ErrDryRun) || planbot.ErrorCode(err) == planbot.ECONFLICT {
		return sha, defaultMethod, err
	}
	allowed, derr := gh.DefaultMergeMethod(ctx, req.Repo)
	if derr != nil || allowed == defaultMethod {
		// The method was not the problem: report the merge's own error.
		return "", defaultMethod, err
	}
	sha, err = gh.Merge(ctx, req.Repo, req.Number, pr.HeadSHA, allowed, title)
	return sha, allowed, err
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
