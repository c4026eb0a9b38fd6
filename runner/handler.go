package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/store"
)

// Handler routes a stored delivery to the flow that handles it.
type Handler struct {
	// GitHub returns the client of an installation.
	GitHub  func(installation int64) GitHub
	Planner *Planner
	Applier *Applier
	Logger  *slog.Logger
}

// Handle processes one job. Its signature matches Queue.Handle.
func (h *Handler) Handle(ctx context.Context, j store.Job) error {
	ev, err := github.ParseWebHook(j.Event, j.Payload)
	if err != nil {
		// Stored payloads were validated at ingress; a bad one will not
		// improve on retry.
		h.Logger.Error("undecodable delivery dropped", "delivery", j.DeliveryID, "err", err)
		return nil
	}
	switch ev := ev.(type) {
	case *github.PullRequestEvent:
		return h.pullRequest(ctx, j, ev)
	case *github.IssueCommentEvent:
		return h.issueComment(ctx, j, ev)
	}
	return nil
}

func repoOf(r *github.Repository) planbot.Repo {
	return planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}
}

func (h *Handler) pullRequest(ctx context.Context, j store.Job, ev *github.PullRequestEvent) error {
	repo := repoOf(ev.GetRepo())
	n := ev.GetNumber()
	gh := h.GitHub(ev.GetInstallation().GetID())
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened", "ready_for_review":
		_, err := h.Planner.Plan(ctx, gh, PlanRequest{
			Repo: repo, Number: n, Delivery: j.DeliveryID, Actor: ev.GetPullRequest().GetUser().GetLogin(),
		})
		return err
	case "edited":
		if ev.GetChanges().GetBase() == nil {
			return nil // only a base change needs a new plan
		}
		_, err := h.Planner.Plan(ctx, gh, PlanRequest{
			Repo: repo, Number: n, Delivery: j.DeliveryID, Actor: ev.GetSender().GetLogin(), Force: true,
		})
		return err
	case "closed":
		return h.Planner.Close(ctx, repo, n)
	}
	return nil
}

// Close releases a closed or merged PR's locks and removes its workspaces.
func (p *Planner) Close(ctx context.Context, repo planbot.Repo, n int) error {
	locks, err := p.Store.ReleasePR(ctx, repo.String(), n)
	if err != nil {
		return fmt.Errorf("release locks of %s#%d: %w", repo, n, err)
	}
	for _, l := range locks {
		p.Logger.Info("lock released on close", "repo", repo.String(), "pr", n, "project", l.Dir)
	}
	if _, err := p.Store.DeletePlans(ctx, repo.String(), n); err != nil {
		// Saved plans hold unmasked values; they must not outlive the PR.
		return fmt.Errorf("delete plans of %s#%d: %w", repo, n, err)
	}
	if err := p.Workspaces.Cleanup(ctx, repo, n); err != nil {
		return fmt.Errorf("clean up workspaces of %s#%d: %w", repo, n, err)
	}
	return nil
}
