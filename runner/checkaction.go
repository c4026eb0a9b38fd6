package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/checkrun"
	"github.com/planbot/planbot/command"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/store"
)

// rerun plans a pull request again because someone re-ran one of
// planbot's check runs (check_run rerequested) or its check suite
// (check_suite rerequested) on GitHub. Like a push, it needs no
// permission beyond GitHub's own: only people with write access see the
// re-run buttons.
func (h *Handler) rerun(ctx context.Context, j store.Job, payload any) error {
	var repo planbot.Repo
	var installation int64
	var actor string
	var n int
	switch ev := payload.(type) {
	case *github.CheckRunEvent:
		ref, _ := event.ParseCheckRunRef(ev.GetCheckRun().GetExternalID())
		repo, installation, actor, n = repoOf(ev.GetRepo()), ev.GetInstallation().GetID(), ev.GetSender().GetLogin(), ref.PR
	case *github.CheckSuiteEvent:
		prs := ev.GetCheckSuite().PullRequests
		repo, installation, actor, n = repoOf(ev.GetRepo()), ev.GetInstallation().GetID(), ev.GetSender().GetLogin(), prs[0].GetNumber()
	default:
		return fmt.Errorf("rerun: unexpected payload %T", payload)
	}
	_, err := h.Planner.Plan(ctx, h.GitHub(installation), PlanRequest{
		Repo: repo, Number: n, Delivery: j.DeliveryID, Actor: actor, Force: true,
	})
	return err
}

// checkAction runs the button of a planbot check run that someone clicked.
// Apply is `/apply -p PROJECT` by the person who clicked, through the same
// gates (write access, then the Applier's: the head of the check run is
// the pull request's, its plan succeeded, the code owners approved, the
// locks), audited with them as actor; its reply is posted on the pull
// request, and a refusal is also written at the top of the check run's
// summary, where they clicked. Re-plan is `/plan`.
func (h *Handler) checkAction(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.CheckRunEvent)
	run := ev.GetCheckRun()
	ref, _ := event.ParseCheckRunRef(run.GetExternalID())
	repo, n, user := repoOf(ev.GetRepo()), ref.PR, ev.GetSender().GetLogin()
	gh := h.GitHub(ev.GetInstallation().GetID())
	var cmd command.Command
	switch id := ev.GetRequestedAction().Identifier; id {
	case checkrun.ActionApply:
		cmd = command.Command{Name: command.Apply, Project: ref.Project}
	case checkrun.ActionReplan:
		cmd = command.Command{Name: command.Plan}
	default:
		h.Logger.Info("unknown check run button ignored", "repo", repo.String(), "pr", n, "identifier", id)
		return nil
	}
	log := h.Logger.With("repo", repo.String(), "pr", n, "delivery", j.DeliveryID, "command", cmd.String(), "check_run", run.GetID())
	_, refused, err := h.authorize(ctx, gh, repo, n, user, cmd, j.DeliveryID, log)
	if err != nil {
		return err
	}
	if refused != "" {
		h.refuseOnRun(ctx, gh, repo, run, cmd, user, refused, log)
		return h.reply(ctx, gh, repo, n, user, refused)
	}
	if cmd.Name == command.Plan {
		_, err := h.Planner.Plan(ctx, gh, PlanRequest{Repo: repo, Number: n, Delivery: j.DeliveryID, Actor: user, Force: true})
		return err
	}
	out, err := h.Applier.Apply(ctx, gh, ApplyRequest{
		Repo: repo, Number: n, Actor: user, Delivery: j.DeliveryID, OnlyName: ref.Project, HeadSHA: run.GetHeadSHA(),
	})
	if err != nil {
		log.Error("apply", "err", err)
		return h.reply(ctx, gh, repo, n, user, comment.ErrorText(err))
	}
	if out.Refused != "" {
		h.refuseOnRun(ctx, gh, repo, run, cmd, user, out.Refused, log)
	}
	return h.reply(ctx, gh, repo, n, user, out.Reply)
}

// refuseOnRun writes a refusal at the top of the summary of the check run
// whose button was clicked, keeping its title and text. A failure is
// logged: the reply on the pull request says it too.
func (h *Handler) refuseOnRun(ctx context.Context, gh CheckRuns, repo planbot.Repo, run *github.CheckRun, cmd command.Command, user, reason string, log *slog.Logger) {
	what := "Apply"
	if cmd.Name == command.Plan {
		what = "Re-plan"
	}
	out := run.GetOutput()
	r := checkrun.Run{
		Name:    run.GetName(),
		Title:   out.GetTitle(),
		Summary: comment.CheckRefused(what, user, reason, out.GetSummary(), h.Secrets),
		Text:    out.GetText(),
	}
	if r.Title == "" {
		r.Title = what + " refused"
	}
	if err := gh.UpdateCheckRun(ctx, repo, run.GetID(), r); err != nil {
		log.Warn("write the refusal on the check run", "err", err)
	}
}
