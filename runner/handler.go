package runner

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/release"
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
	// Releaser opens release pull requests, with the client TagGitHub
	// returns for an installation.
	Releaser  *Releaser
	TagGitHub func(installation int64) TagGitHub
	// Results records the answers of API releases.
	Results JobResults
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
		event.Plan:        h.plan,
		event.Replan:      h.replan,
		event.Close:       h.close,
		event.Command:     h.command,
		event.Prerender:   h.prerender,
		event.Prefetch:    h.prefetch,
		event.Rerun:       h.rerun,
		event.CheckAction: h.checkAction,
		event.Release:     h.releaseTag,
		event.APIRelease:  h.apiRelease,
	}
}

func repoOf(r *github.Repository) planbot.Repo {
	return planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}
}

// plan plans a pull request opened, updated, reopened or ready for review,
// as the payload describes it: a fresh payload spares reading the pull
// request from GitHub.
func (h *Handler) plan(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	gh := h.GitHub(ev.GetInstallation().GetID())
	pr := payloadPR(ev, j.CreatedAt)
	_, err := h.Planner.Plan(ctx, gh, PlanRequest{
		Repo: repoOf(ev.GetRepo()), Number: ev.GetNumber(), Delivery: j.DeliveryID, Actor: ev.GetPullRequest().GetUser().GetLogin(),
		PR: pr, Opened: ev.GetAction() == "opened",
	})
	if err != nil || h.Releaser == nil || !strings.HasPrefix(ev.GetPullRequest().GetHead().GetRef(), release.BranchPrefix) {
		return err
	}
	// A release pull request to an environment with auto_merge merges
	// once planned. It is read again: the plan may have seen it move.
	current, err := gh.PullRequest(ctx, repoOf(ev.GetRepo()), ev.GetNumber())
	if err != nil {
		return err
	}
	return h.autoMerge(ctx, gh, current, j.DeliveryID)
}

// replan plans a pull request whose base branch changed.
func (h *Handler) replan(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	_, err := h.Planner.Plan(ctx, h.GitHub(ev.GetInstallation().GetID()), PlanRequest{
		Repo: repoOf(ev.GetRepo()), Number: ev.GetNumber(), Delivery: j.DeliveryID, Actor: ev.GetSender().GetLogin(), Force: true,
		PR: payloadPR(ev, j.CreatedAt),
	})
	return err
}

// maxPayloadAge is how much older than its delivery a pull request in a
// payload may be and still be trusted. A delivery GitHub sends as the pull
// request changes is seconds younger than it; one redelivered later (after
// an outage, perhaps after the pull request was closed) is not, and the
// plan then reads the pull request as it is now.
const maxPayloadAge = 10 * time.Minute

// payloadPR returns the pull request of a pull_request event delivered at
// stored, or nil when the payload is stale or lacks what a plan needs (then
// the plan reads the pull request from GitHub).
func payloadPR(ev *github.PullRequestEvent, stored time.Time) *planbot.PullRequest {
	if ev.GetPullRequest() == nil {
		return nil
	}
	if updated := ev.GetPullRequest().GetUpdatedAt().Time; updated.IsZero() || stored.Sub(updated) > maxPayloadAge {
		return nil
	}
	pr := event.PullRequest(repoOf(ev.GetRepo()), ev.GetPullRequest())
	if pr.Number == 0 {
		pr.Number = ev.GetNumber()
	}
	if pr.HeadSHA == "" || pr.BaseSHA == "" || pr.BaseRef == "" || pr.CloneURL == "" || pr.State == "" {
		return nil
	}
	return &pr
}

// close cleans up after a closed or merged pull request.
func (h *Handler) close(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PullRequestEvent)
	if err := h.Planner.Close(ctx, repoOf(ev.GetRepo()), ev.GetNumber()); err != nil {
		return err
	}
	if h.Releaser == nil || !ev.GetPullRequest().GetMerged() {
		return nil
	}
	// A merged release is promoted to its environment's promote_to.
	pr := event.PullRequest(repoOf(ev.GetRepo()), ev.GetPullRequest())
	return h.promote(ctx, ev.GetInstallation().GetID(), pr, j.DeliveryID)
}

// prefetch fetches a new branch's commits into the repository cache.
func (h *Handler) prefetch(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PushEvent)
	return h.Planner.Prefetch(ctx, h.GitHub(ev.GetInstallation().GetID()), pushRequest(ev, j))
}

// prerender renders the overlays of a default branch's new tip into the
// Kustomize render cache.
func (h *Handler) prerender(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PushEvent)
	return h.Planner.Prerender(ctx, h.GitHub(ev.GetInstallation().GetID()), pushRequest(ev, j))
}

// pushRequest names the branch tip that the push of job j moved or
// created.
func pushRequest(ev *github.PushEvent, j store.Job) PushRequest {
	r := ev.GetRepo()
	return PushRequest{
		Repo:     planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()},
		CloneURL: r.GetCloneURL(), Branch: strings.TrimPrefix(ev.GetRef(), "refs/heads/"), SHA: ev.GetAfter(),
		DefaultBranch: r.GetDefaultBranch(), Delivery: j.DeliveryID,
	}
}
