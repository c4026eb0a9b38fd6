package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/release"
	"github.com/planbot/planbot/store"
)

// ErrNoReleases is wrapped by the error of a release into a repository
// whose default branch's RepoFile has no release section.
var ErrNoReleases = errors.New("the repository takes no releases")

// commitReport is how the outcome of a release tag is told on its commit.
type commitReport interface {
	CommentCommit(ctx context.Context, repo planbot.Repo, sha, body string) error
	SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error
}

// TagGitHub is what the release of a tag needs from GitHub.
type TagGitHub interface {
	ReleaseGitHub
	commitReport
}

// releaseTag releases a tag pushed to a repository that takes releases:
// the tag is parsed and checked against the release configuration of the
// repository's default branch, and the release pull request opened. A
// refused tag changes nothing: the reason goes to a comment on the tagged
// commit and a failing planbot/release status.
func (h *Handler) releaseTag(ctx context.Context, j store.Job, payload any) error {
	ev := payload.(*github.PushEvent)
	repo := planbot.Repo{Owner: ev.GetRepo().GetOwner().GetLogin(), Name: ev.GetRepo().GetName()}
	name := strings.TrimPrefix(ev.GetRef(), "refs/tags/")
	// head_commit is the tagged commit; after is the tag object of an
	// annotated tag.
	sha := ev.GetHeadCommit().GetID()
	if sha == "" {
		sha = ev.GetAfter()
	}
	actor := ev.GetSender().GetLogin()
	log := h.Logger.With("repo", repo.String(), "sha", sha, "delivery", j.DeliveryID, "tag", name)
	gh := h.TagGitHub(ev.GetInstallation().GetID())
	target, rel, err := tagTarget(ctx, gh, repo)
	if errors.Is(err, ErrNoReleases) {
		log.Info("tag pushed to a repository without releases; ignored")
		return nil
	}
	var req release.Request
	if err == nil {
		req, err = release.FromTag(rel, target.String(), repo.String(), name, sha, actor, h.Releaser.now())
	}
	var res ReleaseResult
	if err == nil {
		res, err = h.Releaser.Release(ctx, gh, target, req, j.DeliveryID)
	}
	if planbot.ErrorCode(err) == planbot.EINVALID {
		return h.refuseTag(ctx, gh, repo, sha, name, actor, j.DeliveryID, err, log)
	}
	if err != nil {
		return err
	}
	return reportTag(ctx, gh, repo, sha, name, res)
}

// refuseTag tells why a tag is not released, on its commit, and audits it.
func (h *Handler) refuseTag(ctx context.Context, gh commitReport, repo planbot.Repo, sha, name, actor, delivery string, cause error, log *slog.Logger) error {
	reason := planbot.ErrorMessage(cause)
	log.Info("release tag refused", "err", reason)
	appendAudit(ctx, h.Audit, log, audit.Entry{Repo: repo.String(), HeadSHA: sha, Action: ActionReleaseRefused, Actor: actor,
		Outcome: "refused", Detail: "tag " + name + ": " + reason, DeliveryID: delivery})
	body := fmt.Sprintf("**planbot did not release the tag `%s`**: %s\n\nNothing was changed. See docs/releases.md for the tag grammar.", name, reason)
	if err := gh.CommentCommit(ctx, repo, sha, redact.String(body, h.Secrets)); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return gh.SetStatus(ctx, repo, sha, StatusRelease, "failure", "not released: "+reason, "")
}

// reportTag tells the outcome of a released tag on its commit.
func reportTag(ctx context.Context, gh commitReport, repo planbot.Repo, sha, name string, res ReleaseResult) error {
	if res.DryRun {
		return gh.SetStatus(ctx, repo, sha, StatusRelease, "success", "dry run: the release pull request was not opened", "")
	}
	if res.Unchanged {
		body := fmt.Sprintf("planbot released nothing for the tag `%s`: the overlays already have these images, so no pull request was opened.", name)
		if err := gh.CommentCommit(ctx, repo, sha, body); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		return gh.SetStatus(ctx, repo, sha, StatusRelease, "success", "nothing to release: the overlays already have these images", "")
	}
	return gh.SetStatus(ctx, repo, sha, StatusRelease, "success", fmt.Sprintf("release pull request #%d opened", res.PR.Number), res.PR.HTMLURL)
}

// releasePR returns the request of a release pull request: one the App
// opened on a release branch, with a valid marker in its body. The error
// is the App's login's.
func (h *Handler) releasePR(ctx context.Context, pr planbot.PullRequest) (release.Request, bool, error) {
	bot, err := h.Planner.Bot.BotLogin(ctx)
	if err != nil {
		return release.Request{}, false, err
	}
	if pr.Author != bot || !strings.HasPrefix(pr.HeadRef, release.BranchPrefix) || pr.HeadRepoID != pr.BaseRepoID {
		return release.Request{}, false, nil
	}
	req, ok := release.Parse(pr.Body)
	if !ok || pr.HeadRef != req.Branch() {
		return release.Request{}, false, nil
	}
	return req, true, nil
}

// autoMerge merges a release pull request whose plan at its head
// succeeded when its environment has auto_merge, with no approval. The
// audit records that no approval was required by the configuration, and
// who asked for the release.
func (h *Handler) autoMerge(ctx context.Context, gh GitHub, pr planbot.PullRequest, delivery string) error {
	req, ok, err := h.releasePR(ctx, pr)
	if err != nil {
		return fmt.Errorf("auto-merge: %w", err)
	}
	if !ok || pr.State != "open" {
		return nil
	}
	cfg, err := repoConfig(ctx, gh, pr)
	if err != nil {
		return nil // the plan reported it
	}
	env, ok := cfg.Release.Environment(req.Env)
	if !ok || !env.AutoMerge {
		return nil
	}
	log := h.Logger.With("repo", pr.Repo.String(), "pr", pr.Number, "sha", pr.HeadSHA, "delivery", delivery)
	if ok, err := h.releaseCommit(ctx, pr); err != nil || !ok {
		// Someone pushed to the release branch: what merges without
		// approval is only ever the commit planbot made.
		log.Info("release not merged automatically: its head is not planbot's release commit", "err", err)
		if err == nil {
			notManual(ctx, gh, pr, req.Env, log)
		}
		return err
	}
	results := storedResults(ctx, h.Plans, pr, log)
	if state, desc := comment.StatusDescription(results); len(results) == 0 || state != comment.StateSuccess {
		log.Info("release not merged automatically: its plan did not succeed", "plan", desc)
		return nil
	}
	appendAudit(ctx, h.Audit, log, audit.Entry{Repo: pr.Repo.String(), PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA,
		Action: ActionAutoMerge, Actor: req.Actor, Outcome: "started", DeliveryID: delivery,
		Detail: fmt.Sprintf("no approval required by config (release.environments %s auto_merge); triggered by %s via %s %s", req.Env, req.Actor, req.Trigger, req.Origin)})
	reply, _ := h.Applier.merge(ctx, gh, ApplyRequest{Repo: pr.Repo, Number: pr.Number, Actor: req.Actor, Delivery: delivery}, pr, mergeMethod(cfg, h.Applier.MergeMethod), clearance{}, log)
	msg := fmt.Sprintf("`%s` has `auto_merge`: the plan succeeded, and no approval is required.%s", req.Env, reply)
	if _, err := gh.CreateComment(ctx, pr.Repo, pr.Number, msg); err != nil {
		log.Warn("comment on the auto-merge", "err", err)
	}
	return nil
}

// notManualMarker marks the comment that says a release is not merged
// automatically, posted once per pull request.
const notManualMarker = "<!-- planbot:release-not-auto-merged -->"

// notManual says, once, on the release pull request pr that it is not
// merged automatically because its head is not planbot's commit.
func notManual(ctx context.Context, gh GitHub, pr planbot.PullRequest, env string, log *slog.Logger) {
	comments, err := gh.ListComments(ctx, pr.Repo, pr.Number)
	if err != nil {
		log.Warn("list comments", "err", err)
		return
	}
	for _, c := range comments {
		if strings.Contains(c.Body, notManualMarker) {
			return
		}
	}
	msg := fmt.Sprintf("`%s` has `auto_merge`, but the head of this pull request is not the commit planbot made for the release, so it is not merged automatically: it needs the usual approvals and `/apply`.\n%s", env, notManualMarker)
	if _, err := gh.CreateComment(ctx, pr.Repo, pr.Number, msg); err != nil {
		log.Warn("comment on the auto-merge", "err", err)
	}
}

// releaseCommit reports whether the head of the release pull request pr
// is the commit planbot made for it, as its release entry in the audit
// log records.
func (h *Handler) releaseCommit(ctx context.Context, pr planbot.PullRequest) (bool, error) {
	entries, err := h.Audit.Audit(ctx, store.AuditFilter{Repo: pr.Repo.String(), PR: pr.Number})
	if err != nil {
		return false, fmt.Errorf("auto-merge: read the audit log: %w", err)
	}
	for _, e := range entries {
		if e.Action == ActionRelease && e.Outcome == "opened" && e.HeadSHA == pr.HeadSHA {
			return true, nil
		}
	}
	return false, nil
}

// promote opens, for a release pull request that merged into an
// environment with promote_to, the release of the same images to the
// next environment.
func (h *Handler) promote(ctx context.Context, installation int64, pr planbot.PullRequest, delivery string) error {
	req, ok, err := h.releasePR(ctx, pr)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	if !ok || !pr.Merged {
		return nil
	}
	gh := h.TagGitHub(installation)
	rel, _, _, err := ReleaseConfig(ctx, gh, pr.Repo)
	if err != nil {
		return nil
	}
	env, ok := rel.Environment(req.Env)
	if !ok || env.PromoteTo == "" {
		return nil
	}
	_, err = h.promoteTo(ctx, gh, pr, req, env.PromoteTo, req.Actor, delivery)
	if planbot.ErrorCode(err) == planbot.EINVALID {
		h.Logger.Warn("promotion refused", "repo", pr.Repo.String(), "pr", pr.Number, "err", err)
		_, cerr := gh.CreateComment(ctx, pr.Repo, pr.Number, "planbot could not promote this release to `"+env.PromoteTo+"`: "+planbot.ErrorMessage(err))
		return cerr
	}
	return err
}

// promoteTo releases the images of the merged release pull request pr,
// whose request is req, to the environment target, asked by actor.
func (h *Handler) promoteTo(ctx context.Context, gh ReleaseGitHub, pr planbot.PullRequest, req release.Request, target, actor, delivery string) (ReleaseResult, error) {
	// The body says what the release set; it must say what planbot
	// recorded when it opened the pull request, or it was edited since.
	entries, err := h.Audit.Audit(ctx, store.AuditFilter{Repo: pr.Repo.String(), PR: pr.Number})
	if err != nil {
		return ReleaseResult{}, fmt.Errorf("promote: read the audit log: %w", err)
	}
	if !slices.ContainsFunc(entries, func(e audit.Entry) bool {
		return e.Action == ActionRelease && e.Outcome == "opened" && e.Detail == detail(req, "")
	}) {
		return ReleaseResult{}, planbot.Errorf(planbot.EINVALID, "the description of #%d does not match the release planbot recorded when it opened it", pr.Number)
	}
	next := release.Request{Env: target, Product: req.Product, Images: req.Images, Actor: actor, SourceRepo: req.SourceRepo,
		Trigger: release.TriggerPromote, Origin: fmt.Sprintf("#%d", pr.Number), PromotedFrom: pr.Number, At: h.Releaser.now()}
	return h.Releaser.Release(ctx, gh, pr.Repo, next, delivery)
}

// promoteCommand runs /promote ENV, by user (who has write access), on
// the pull request n, and returns the reply.
func (h *Handler) promoteCommand(ctx context.Context, installation int64, repo planbot.Repo, n int, target, user, delivery string) string {
	if h.Releaser == nil {
		return "releases are not enabled on this planbot."
	}
	gh := h.TagGitHub(installation)
	pr, err := h.GitHub(installation).PullRequest(ctx, repo, n)
	if err != nil {
		return comment.ErrorText(err)
	}
	req, ok, err := h.releasePR(ctx, pr)
	if err != nil {
		return comment.ErrorText(err)
	}
	switch {
	case !ok:
		return "`/promote` works on release pull requests that planbot opened; this is not one."
	case !pr.Merged:
		return "`/promote` works once the release is merged; this pull request is not."
	case req.Env == target:
		return fmt.Sprintf("this release went to `%s` already; promote it to another environment.", target)
	}
	res, err := h.promoteTo(ctx, gh, pr, req, target, user, delivery)
	switch {
	case err != nil:
		return "could not promote: " + planbot.ErrorMessage(err)
	case res.Unchanged:
		return fmt.Sprintf("`%s` already has these images; nothing to promote.", target)
	}
	return fmt.Sprintf("opened #%d, the release of these images to `%s`.", res.PR.Number, target)
}
