package runner

import (
	"context"
	"log/slog"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
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

// Handle processes one job. Its signature matches Queue.Handle. It decodes
// the stored payload once and routes it by the table of package event, the
// one ingress stored it by, to the flow of its kind.
func (h *Handler) Handle(ctx context.Context, j store.Job) error {
	d, err := event.Decode(j.Event, j.Payload)
	if err != nil {
		// Stored payloads were validated at ingress; a bad one will not
		// improve on retry.
		h.Logger.Error("undecodable delivery dropped", "delivery", j.DeliveryID, "err", err)
		return nil
	}
	flow, ok := h.flows()[d.Kind]
	if !ok {
		return nil // not work, such as a job stored by an older table
	}
	return flow(ctx, j, d.Payload)
}

// flows returns the flow of each kind of job of the routing table. Each
// receives the payload decoded into the go-github type of its rows' event.
func (h *Handler) flows() map[event.Kind]func(ctx context.Context, j store.Job, payload any) error {
	return map[event.Kind]func(ctx context.Context, j store.Job, payload any) error{
		event.Plan:      h.plan,
		event.Replan:    h.replan,
		event.Close:     h.close,
		event.Command:   h.command,
		event.Prerender: h.prerender,
	}
}

func repoOf(r *github.Repository) planbot.Repo {
	return planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}
}

// plan plans a pull request opened, updated, reopened or ready for review.
func (h *Handler) plan(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	_, err := h.Planner.Plan(ctx, h.GitHub(ev.GetInstallation().GetID()), PlanRequest{
		Repo: repoOf(ev.GetRepo()), Number: ev.GetNumber(), Delivery: j.DeliveryID, Actor: ev.GetPullRequest().GetUser().GetLogin(),
	})
	return err
}

// replan plans a pull request whose base branch changed.
func (h *Handler) replan(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	_, err := h.Planner.Plan(ctx, h.GitHub(ev.GetInstallation().GetID()), PlanRequest{
		Repo: repoOf(ev.GetRepo()), Number: ev.GetNumber(), Delivery: j.DeliveryID, Actor: ev.GetSender().GetLogin(), Force: true,
	})
	return err
}

// close cleans up after a closed or merged pull request.
func (h *Handler) close(ctx context.Context, _ store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	return h.Planner.Close(ctx, repoOf(ev.GetRepo()), ev.GetNumber())
}

// prerender renders the overlays of a default branch's new tip into the
// Kustomize render cache.
func (h *Handler) prerender(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PushEvent)
	r := ev.GetRepo()
	return h.Planner.Prerender(ctx, h.GitHub(ev.GetInstallation().GetID()), PrerenderRequest{
		Repo:     planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()},
		CloneURL: r.GetCloneURL(), Branch: r.GetDefaultBranch(), SHA: ev.GetAfter(), Delivery: j.DeliveryID,
	})
}
