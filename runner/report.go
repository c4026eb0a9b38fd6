package runner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/comment"
)

// report posts the plan comment (creating it without listing comments
// for a pull request just opened, see upsertComment), completes the check
// runs of the projects that were planned and sets the final status of a
// plan that ran (planErr is a failure before any project ran), and returns
// its outcome.
func (p *Planner) report(ctx context.Context, gh PlanGitHub, bot string, pr planbot.PullRequest, opened bool, files []planbot.ChangedFile, results []planbot.Result, notes []string, planErr error, checks *planChecks, log *slog.Logger) (string, error) {
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
	if len(results) == 0 && planErr == nil {
		// Nothing to apply either: a branch protection rule that requires
		// planbot/apply lets such a pull request be merged by hand.
		if err := gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusApply, "success", "nothing to apply: no projects changed", pullURL(p.Pages, pr)); err != nil {
			return outcome, err
		}
		if !p.hasComment(ctx, gh, bot, pr) {
			return "this pull request changes no Terraform or Kustomize project.",
				gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, "success", "no Terraform or Kustomize projects changed", pullURL(p.Pages, pr))
		}
	}
	report := comment.Report{
		Repo: pr.Repo, PR: pr.Number, HeadSHA: pr.HeadSHA,
		HeadURL: commitURL(pr), Results: results, Notes: append(notes, pageNote(p.Pages, pr)...), Command: "plan", Error: failure,
		Unsandboxed: p.Unsandboxed,
	}
	if len(results) > 0 {
		report.Approvals = p.approvals(ctx, pr, files, log)
	}
	parts := comment.Render(report, comment.Options{Secrets: p.Secrets})
	if err := upsertComment(ctx, gh, p.Comments, bot, pr, parts, opened, log); err != nil {
		return outcome, fmt.Errorf("post plan comment: %w", err)
	}
	checks.finish(ctx, results, p.Secrets)
	if err := gh.SetStatus(ctx, pr.Repo, pr.HeadSHA, StatusPlan, state, desc, pullURL(p.Pages, pr)); err != nil {
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
// rules (base commit, read from the fetched objects) of the PR's changed
// files. It returns nil, and the comment says nothing about approvals,
// when they cannot be read.
func (p *Planner) approvals(ctx context.Context, pr planbot.PullRequest, files []planbot.ChangedFile, log *slog.Logger) *comment.Approvals {
	f, err := codeowners.Load(ctx, baseFiles{p.Workspaces}, pr.Repo, pr.BaseSHA)
	if err != nil {
		log.Warn("read CODEOWNERS for the plan comment", "err", err)
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
	if hasPlanComment(ctx, p.Comments, pr) {
		return true
	}
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
