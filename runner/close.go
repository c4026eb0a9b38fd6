package runner

import (
	"context"
	"fmt"

	"github.com/planbot/planbot"
)

// Close releases a closed or merged PR's locks, deletes its saved plans,
// forgets its plan comment's ids and removes its workspaces.
func (p *Planner) Close(ctx context.Context, repo planbot.Repo, n int) error {
	locks, err := p.Locks.ReleasePR(ctx, repo.String(), n)
	if err != nil {
		return fmt.Errorf("release locks of %s#%d: %w", repo, n, err)
	}
	for _, l := range locks {
		p.Logger.Info("lock released on close", "repo", repo.String(), "pr", n, "project", l.Dir)
	}
	if _, err := p.Plans.DeletePlans(ctx, repo.String(), n); err != nil {
		// Saved plans hold unmasked values; they must not outlive the PR.
		return fmt.Errorf("delete plans of %s#%d: %w", repo, n, err)
	}
	if p.Comments != nil {
		if err := p.Comments.SavePlanComment(ctx, repo.String(), n, nil); err != nil {
			p.Logger.Warn("forget the plan comment's ids", "repo", repo.String(), "pr", n, "err", err)
		}
	}
	if err := p.Workspaces.Cleanup(ctx, repo, n); err != nil {
		return fmt.Errorf("clean up workspaces of %s#%d: %w", repo, n, err)
	}
	return nil
}
