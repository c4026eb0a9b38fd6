package runner

import (
	"context"
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
	// Locks, Plans and Audit are what the commands other than /plan and
	// /apply read and change: /unlock, /help and refusals.
	Locks Locks
	Plans Plans
	Audit AuditLog
	// Secrets are values masked in every reply.
	Secrets []string
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
