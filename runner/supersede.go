package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/release"
	"github.com/planbot/planbot/store"
)

// olderRelease is an older release pull request of a release branch, and
// its request.
type olderRelease struct {
	pr  planbot.PullRequest
	req release.Request
	// closed reports whether planbot closed it already, for a newer
	// release whose pull request then failed to open.
	closed bool
}

// olderReleases returns the release pull requests of branch that a new
// release supersedes: the open ones the App opened, and the newest pull
// request of the branch when planbot closed it to supersede it (its
// release_superseding intent is in the audit log) and the newer pull
// request never opened, because the job stopped in between. The images
// of both are carried on, so a retried release loses none.
func (r *Releaser) olderReleases(ctx context.Context, gh releasePulls, repo planbot.Repo, branch, bot string) ([]olderRelease, error) {
	prs, err := gh.Pulls(ctx, repo, branch, "all")
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	var out []olderRelease
	for i, pr := range prs {
		req, ok := release.Parse(pr.Body)
		if pr.Author != bot || pr.HeadRef != branch || !ok {
			continue
		}
		switch {
		case pr.State == "open":
			out = append(out, olderRelease{pr: pr, req: req})
		case i == 0 && !pr.Merged:
			orphan, err := r.orphaned(ctx, repo, pr.Number)
			if err != nil {
				return nil, err
			}
			if orphan {
				out = append(out, olderRelease{pr: pr, req: req, closed: true})
			}
		}
	}
	return out, nil
}

// orphaned reports whether the audit log has the intent to supersede the
// pull request n, and not that it was superseded.
func (r *Releaser) orphaned(ctx context.Context, repo planbot.Repo, n int) (bool, error) {
	entries, err := r.Audit.Audit(ctx, store.AuditFilter{Repo: repo.String(), PR: n})
	if err != nil {
		return false, fmt.Errorf("release: read the audit log: %w", err)
	}
	intent := false
	for _, e := range entries {
		switch e.Action {
		case ActionReleaseSuperseding:
			intent = true
		case ActionReleaseSuperseded:
			return false, nil
		}
	}
	return intent, nil
}

// closeOlder closes the older open release pull requests, each after its
// intent is audited, before the branch they share moves: they are never
// planned at the new commit, and never two are open.
func (r *Releaser) closeOlder(ctx context.Context, gh releasePulls, repo planbot.Repo, older []olderRelease, req release.Request, delivery string, log *slog.Logger) error {
	for _, o := range older {
		if o.closed {
			continue
		}
		intent := audit.Entry{Repo: repo.String(), PR: o.pr.Number, HeadSHA: o.pr.HeadSHA, Action: ActionReleaseSuperseding, Actor: req.Actor,
			Outcome: "closing", Detail: detail(req, "a newer release"), DeliveryID: delivery}
		if _, _, err := r.Audit.AppendAudit(ctx, intent); err != nil {
			return fmt.Errorf("release: audit superseding #%d: %w", o.pr.Number, err)
		}
		if err := gh.ClosePull(ctx, repo, o.pr.Number); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	return nil
}

// superseded tells each older release pull request which one superseded
// it, audits it, and returns their numbers.
func (r *Releaser) superseded(ctx context.Context, gh releasePulls, repo planbot.Repo, older []olderRelease, pr planbot.PullRequest, req release.Request, delivery string, log *slog.Logger) []int {
	var out []int
	for _, o := range older {
		out = append(out, o.pr.Number)
		msg := fmt.Sprintf("Superseded by #%d (%s), a newer release of %s to %s; closed.", pr.Number, pr.HTMLURL, req.Product, req.Env)
		if _, err := gh.CreateComment(ctx, repo, o.pr.Number, msg); err != nil {
			log.Warn("comment on the superseded release", "pr", o.pr.Number, "err", err)
		}
		r.audit(ctx, audit.Entry{Repo: repo.String(), PR: o.pr.Number, HeadSHA: o.pr.HeadSHA, Action: ActionReleaseSuperseded, Actor: req.Actor,
			Outcome: "closed", Detail: fmt.Sprintf("superseded by #%d", pr.Number), DeliveryID: delivery}, log)
	}
	return out
}
