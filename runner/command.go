package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/command"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/store"
)

// GitHub is everything the flows need from GitHub, composed of the small
// interfaces each flow declares.
type GitHub interface {
	PlanGitHub
	ApplyGitHub
}

// canWrite reports whether a legacy permission allows running commands.
func canWrite(perm string) bool {
	switch perm {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// command runs the command of a comment that the routing table took: a
// person's comment on a pull request that starts with "/".
func (h *Handler) command(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.IssueCommentEvent)
	cmd, ok, perr := command.Parse(ev.GetComment().GetBody())
	if !ok && perr == nil {
		return nil
	}
	repo := repoOf(ev.GetRepo())
	n := ev.GetIssue().GetNumber()
	user := ev.GetComment().GetUser().GetLogin()
	gh := h.GitHub(ev.GetInstallation().GetID())
	log := h.Logger.With("repo", repo.String(), "pr", n, "delivery", j.DeliveryID, "command", cmd.String())
	reply := func(body string) error { return h.reply(ctx, gh, repo, n, user, body) }
	if err := gh.React(ctx, repo, ev.GetComment().GetID(), "eyes"); err != nil {
		log.Warn("react to command", "err", err)
	}
	if perr != nil {
		return reply(comment.ErrorText(perr))
	}
	if cmd.Name == command.Help {
		return reply(h.help(ctx, gh, repo, n))
	}
	perm, refused, err := h.authorize(ctx, gh, repo, n, user, cmd, j.DeliveryID, log)
	if err != nil {
		return err
	}
	if refused != "" {
		return reply(refused)
	}
	switch cmd.Name {
	case command.Plan:
		outcome, err := h.Planner.Plan(ctx, gh, PlanRequest{
			Repo: repo, Number: n, Delivery: j.DeliveryID, Actor: user,
			OnlyName: cmd.Project, OnlyDir: cmd.Dir, Force: true,
		})
		if err != nil {
			return err
		}
		return reply(outcome)
	case command.Unlock:
		msg, err := h.unlock(ctx, repo, n, user, perm, cmd, j.DeliveryID)
		if err != nil {
			return reply(comment.ErrorText(err))
		}
		return reply(msg)
	case command.Promote:
		return reply(h.promoteCommand(ctx, ev.GetInstallation().GetID(), repo, n, cmd.Env, user, j.DeliveryID))
	case command.Apply:
		out, err := h.Applier.Apply(ctx, gh, ApplyRequest{
			Repo: repo, Number: n, Actor: user, Delivery: j.DeliveryID, OnlyName: cmd.Project, OnlyDir: cmd.Dir,
		})
		if err != nil {
			log.Error("apply", "err", err)
			return reply(comment.ErrorText(err))
		}
		return reply(out.Reply)
	}
	return nil
}

// reply answers user on pull request n. Everything planbot replies is
// masked, like the plan comment, and cut to GitHub's comment limit.
func (h *Handler) reply(ctx context.Context, gh comment.Client, repo planbot.Repo, n int, user, body string) error {
	body = redact.String("@"+user+" "+body, h.Secrets)
	if r := []rune(body); len(r) > comment.DefaultLimit {
		body = string(r[:comment.DefaultLimit-200]) + "\n\n… (cut to fit GitHub's comment limit)"
	}
	_, err := gh.CreateComment(ctx, repo, n, body)
	return err
}

// permissionGetter reads a user's permission on a repository.
type permissionGetter interface {
	Permission(ctx context.Context, repo planbot.Repo, user string) (string, error)
}

// authorize checks that user may run cmd on pull request n, whether it
// came as a comment or as a check run's button: every command but /help
// needs write access to the repository. It returns the user's permission
// and, when refused, the reply that says why; a refused /apply is
// audited.
func (h *Handler) authorize(ctx context.Context, gh permissionGetter, repo planbot.Repo, n int, user string, cmd command.Command, delivery string, log *slog.Logger) (perm, refused string, err error) {
	perm, err = gh.Permission(ctx, repo, user)
	if err != nil {
		return "", "", err
	}
	if canWrite(perm) {
		return perm, "", nil
	}
	log.Info("command refused: no write access", "user", user, "permission", perm)
	if cmd.Name == command.Apply {
		appendAudit(ctx, h.Audit, log, refusalEntry(repo, n, "", user, delivery, cmd.Project, "no write access"))
	}
	return perm, fmt.Sprintf("sorry, `%s` needs write access to %s, and you have %s access. Ask a maintainer to run it.", cmd, repo, perm), nil
}

func (h *Handler) help(ctx context.Context, gh GitHub, repo planbot.Repo, n int) string {
	pr, err := gh.PullRequest(ctx, repo, n)
	if err != nil {
		return comment.Help(nil)
	}
	plans, _ := h.Plans.Plans(ctx, repo.String(), n, pr.HeadSHA)
	var ps []planbot.Project
	for _, p := range plans {
		ps = append(ps, planbot.Project{Name: p.Project, Dir: p.Dir, Workspace: p.Workspace, Kind: planbot.Kind(p.Kind), Engine: planEngine(p)})
	}
	help := comment.Help(ps)
	cfg, err := repoConfig(ctx, gh, pr)
	if err != nil {
		return help + "\n⚠️ `" + config.RepoFile + "` on `" + pr.BaseRef + "` is invalid: " + planbot.ErrorMessage(err) + "\n"
	}
	return help + configHelp(cfg, pr.BaseRef)
}

// configHelp describes what the repository's .planbot.yaml allows.
func configHelp(cfg *config.Repo, baseRef string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n**Repository rules** (from `%s` on `%s`; defaults when it is absent):\n\n", config.RepoFile, baseRef)
	if cfg.Explicit() {
		var names []string
		for _, p := range cfg.Projects {
			names = append(names, "`"+p.Name+"`")
		}
		fmt.Fprintf(&b, "- Projects: declared: %s.\n", strings.Join(names, ", "))
	} else {
		b.WriteString("- Projects: detected automatically (Terraform roots and Kustomize overlays).\n")
	}
	b.WriteString("- `/apply` needs every changed file approved by its CODEOWNERS at the head commit")
	for _, r := range cfg.ApplyRequirements {
		fmt.Fprintf(&b, ", and the PR to be %s", r)
	}
	b.WriteString(".\n")
	if cfg.Automerge {
		method := cfg.MergeMethod
		if method == "" {
			method = "the server's --merge-method, else the first method the repository allows"
		}
		fmt.Fprintf(&b, "- After everything is applied, planbot merges the PR (%s).\n", method)
	} else {
		b.WriteString("- Automerge is off: merge the PR yourself after applying.\n")
	}
	if cfg.TerraformVersion != "" {
		fmt.Fprintf(&b, "- Terraform version: `%s`.\n", cfg.TerraformVersion)
	}
	return b.String()
}

// unlock releases this PR's locks, or one lock by dir; an admin may release
// another PR's lock.
func (h *Handler) unlock(ctx context.Context, repo planbot.Repo, n int, user, perm string, cmd command.Command, delivery string) (string, error) {
	var released []string
	if cmd.Project == "" && cmd.Dir == "" {
		locks, err := h.Locks.ReleasePR(ctx, repo.String(), n)
		if err != nil {
			return "", err
		}
		for _, l := range locks {
			released = append(released, "`"+l.Dir+"`")
		}
	} else {
		locks, err := h.Locks.Locks(ctx, repo.String())
		if err != nil {
			return "", err
		}
		dir := cmd.Dir
		if cmd.Project != "" {
			// A project name from .planbot.yaml may differ from its dir.
			dir = cmd.Project
			if p, err := h.Plans.LatestPlan(ctx, repo.String(), n, cmd.Project); err == nil {
				dir = p.Dir
			}
		}
		for _, l := range locks {
			if l.Dir != dir {
				continue
			}
			if l.PR != n && perm != "admin" {
				return "", planbot.Errorf(planbot.EUNAUTHORIZED, "`%s` is locked by #%d; only that PR or a repository admin can unlock it", l.Dir, l.PR)
			}
			if ok, err := h.Locks.ReleaseLock(ctx, repo.String(), l.Dir, l.Workspace, l.PR); err != nil {
				return "", err
			} else if ok {
				released = append(released, fmt.Sprintf("`%s` (held by #%d)", l.Dir, l.PR))
			}
		}
	}
	if len(released) == 0 {
		return "there was nothing to unlock.", nil
	}
	appendAudit(ctx, h.Audit, h.Logger, audit.Entry{
		Repo: repo.String(), PR: n, Project: strings.Join(released, ","), Action: audit.ActionUnlock,
		Actor: user, Outcome: "released", DeliveryID: delivery,
	})
	return "unlocked " + strings.Join(released, ", ") + ". Other pull requests can plan these projects now.", nil
}
