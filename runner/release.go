package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/release"
	"sigs.k8s.io/kustomize/api/konfig"
)

// StatusRelease is the commit status planbot sets on a tagged commit: the
// outcome of its release tag.
const StatusRelease = "planbot/release"

// The audit actions of releases.
const (
	// ActionRelease records a release pull request opened, or a release
	// that changed nothing (outcome "unchanged").
	ActionRelease = "release"
	// ActionReleaseRefused records a release refused, with the reason.
	ActionReleaseRefused = "release_refused"
	// ActionReleaseSuperseding records, before it is closed, that an open
	// release pull request is being closed for a newer one, and
	// ActionReleaseSuperseded, after the newer one opened, that it was.
	ActionReleaseSuperseding = "release_superseding"
	ActionReleaseSuperseded  = "release_superseded"
	// ActionAutoMerge records that a release pull request is merged with
	// no approval, as its environment's auto_merge says.
	ActionAutoMerge = "auto_merge"
)

// releaseRepo is what a release reads and writes of the manifests
// repository's git data.
type releaseRepo interface {
	FileGetter
	DefaultBranch(ctx context.Context, repo planbot.Repo) (string, error)
	BranchSHA(ctx context.Context, repo planbot.Repo, branch string) (string, error)
	CommitFiles(ctx context.Context, repo planbot.Repo, parent string, files map[string][]byte, message string) (string, error)
	SetBranch(ctx context.Context, repo planbot.Repo, branch, sha string) error
}

// releasePulls is what a release does with pull requests.
type releasePulls interface {
	// Pulls returns the pull requests whose head is branch of the
	// repository itself, open, closed or all (state), newest first.
	Pulls(ctx context.Context, repo planbot.Repo, branch, state string) ([]planbot.PullRequest, error)
	CreatePull(ctx context.Context, repo planbot.Repo, title, head, base, body string) (planbot.PullRequest, error)
	ClosePull(ctx context.Context, repo planbot.Repo, number int) error
	CreateComment(ctx context.Context, repo planbot.Repo, number int, body string) (planbot.Comment, error)
	IsAncestor(ctx context.Context, repo planbot.Repo, a, b string) (bool, error)
}

// ReleaseGitHub is what a release needs from GitHub, as one installation.
type ReleaseGitHub interface {
	releaseRepo
	releasePulls
}

// Releaser opens release pull requests: it bumps the images of an
// environment's overlays on a branch of the manifests repository and opens
// the pull request that goes through the usual plan, gate and merge.
type Releaser struct {
	Audit AuditLog
	Bot   Bot
	// Now is the clock; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// ReleaseResult is the outcome of a release.
type ReleaseResult struct {
	// PR is the release pull request; zero when Unchanged.
	PR planbot.PullRequest
	// Unchanged reports whether the overlays already had every image.
	Unchanged bool
	Changes   []release.Change
	// Superseded are the older release pull requests closed.
	Superseded []int
	Rollback   bool
	// DryRun reports whether planbot runs with --dry-run: nothing was
	// committed or opened.
	DryRun bool
}

func (r *Releaser) now() time.Time {
	return clockNow(r.Now).UTC()
}

// defaultConfig reads RepoFile from the tip of the repository's default
// branch, and returns it with that branch and commit.
func defaultConfig(ctx context.Context, gh releaseRepo, repo planbot.Repo) (*config.Repo, string, string, error) {
	branch, err := gh.DefaultBranch(ctx, repo)
	if err != nil {
		return nil, "", "", fmt.Errorf("release: %w", err)
	}
	tip, err := gh.BranchSHA(ctx, repo, branch)
	if err != nil {
		return nil, "", "", fmt.Errorf("release: %w", err)
	}
	cfg, err := repoConfig(ctx, gh, planbot.PullRequest{Repo: repo, BaseSHA: tip})
	if err != nil {
		return nil, "", "", fmt.Errorf("release: %w", err)
	}
	return cfg, branch, tip, nil
}

// ReleaseConfig reads the release section of RepoFile from the tip of the
// repository's default branch, and returns it with that branch and
// commit. A repository without a release section (or whose section only
// points at another repository) is an EINVALID error wrapping
// ErrNoReleases.
func ReleaseConfig(ctx context.Context, gh releaseRepo, repo planbot.Repo) (config.Release, string, string, error) {
	cfg, branch, tip, err := defaultConfig(ctx, gh, repo)
	if err != nil {
		return config.Release{}, "", "", err
	}
	if !cfg.Releases() {
		return config.Release{}, "", "", &planbot.Error{Code: planbot.EINVALID, Err: ErrNoReleases,
			Message: fmt.Sprintf("%s takes no releases: the %s of its default branch has no release section", repo, config.RepoFile)}
	}
	return cfg.Release, branch, tip, nil
}

// tagTarget returns the manifests repository that the tags pushed to repo
// release into, and its release configuration: repo itself when its
// default branch's RepoFile has products, else the repository its
// release.manifests_repo names. It returns an error wrapping
// ErrNoReleases when repo has neither.
func tagTarget(ctx context.Context, gh releaseRepo, repo planbot.Repo) (planbot.Repo, config.Release, error) {
	cfg, _, _, err := defaultConfig(ctx, gh, repo)
	if err != nil {
		return planbot.Repo{}, config.Release{}, err
	}
	m := cfg.Release.ManifestsRepo
	if m == "" {
		if !cfg.Releases() {
			return planbot.Repo{}, config.Release{}, &planbot.Error{Code: planbot.EINVALID, Err: ErrNoReleases, Message: repo.String() + " takes no releases"}
		}
		return repo, cfg.Release, nil
	}
	owner, name, _ := strings.Cut(m, "/")
	target := planbot.Repo{Owner: owner, Name: name}
	rel, _, _, err := ReleaseConfig(ctx, gh, target)
	switch {
	case planbot.ErrorCode(err) == planbot.ENOTFOUND, planbot.ErrorCode(err) == planbot.EUNAUTHORIZED:
		return target, rel, planbot.Errorf(planbot.EINVALID, "planbot cannot read %s (release.manifests_repo of %s): install the App on both repositories, in one installation", m, repo)
	case errors.Is(err, ErrNoReleases):
		return target, rel, planbot.Errorf(planbot.EINVALID, "%s (release.manifests_repo of %s) takes no releases: its %s has no release section", m, repo, config.RepoFile)
	}
	return target, rel, err
}

// Release performs req in the manifests repository repo: it reads the
// release configuration from the default branch, carries on the images
// of an open older release of the same environment and product, sets the
// images in the environment's overlays, commits on req.Branch() as the
// App, closes the older pull request and opens the new one. A release
// that changes nothing opens nothing. A request that the configuration
// refuses is an EINVALID error; nothing is written then.
func (r *Releaser) Release(ctx context.Context, gh ReleaseGitHub, repo planbot.Repo, req release.Request, delivery string) (ReleaseResult, error) {
	log := r.Logger.With("repo", repo.String(), "delivery", delivery, "env", req.Env, "product", req.Product)
	rel, base, tip, err := ReleaseConfig(ctx, gh, repo)
	if err != nil {
		return ReleaseResult{}, err
	}
	env, ok := rel.Environment(req.Env)
	if !ok {
		return ReleaseResult{}, planbot.Errorf(planbot.EINVALID, "%s has no release environment %q", repo, req.Env)
	}
	bot, err := r.Bot.BotLogin(ctx)
	if err != nil {
		return ReleaseResult{}, fmt.Errorf("release: %w", err)
	}
	older, err := r.olderReleases(ctx, gh, repo, req.Branch(), bot)
	if err != nil {
		return ReleaseResult{}, err
	}
	for _, o := range older {
		if same(o.req, req) {
			log.Info("release already open", "pr", o.pr.Number)
			return ReleaseResult{PR: o.pr}, nil
		}
		req = req.Merge(o.req)
	}
	files, changes, err := bump(ctx, gh, repo, tip, env.Overlays, req.Images)
	if err != nil {
		return ReleaseResult{}, err
	}
	res := ReleaseResult{Changes: changes}
	if len(changes) == 0 {
		res.Unchanged = true
		r.audit(ctx, audit.Entry{Repo: repo.String(), HeadSHA: tip, Action: ActionRelease, Actor: req.Actor, Outcome: "unchanged",
			Detail: detail(req, "the overlays already have these images"), DeliveryID: delivery}, log)
		log.Info("release changes nothing")
		return res, nil
	}
	source := repo
	if owner, name, ok := strings.Cut(req.SourceRepo, "/"); ok {
		source = planbot.Repo{Owner: owner, Name: name}
	}
	res.Rollback = r.rollback(ctx, gh, source, changes)
	body := release.Body{Request: req, Changes: changes, Rollback: res.Rollback, AutoMerge: env.AutoMerge}
	for _, o := range older {
		body.Supersedes = append(body.Supersedes, o.pr.Number)
	}
	title := req.Title(res.Rollback)
	sha, err := gh.CommitFiles(ctx, repo, tip, files, title+"\n\n"+req.Trigger+" "+req.Origin+", asked by "+req.Actor)
	if errors.Is(err, planbot.ErrDryRun) {
		res.DryRun = true
		r.audit(ctx, audit.Entry{Repo: repo.String(), HeadSHA: tip, Action: ActionRelease, Actor: req.Actor, Outcome: "dry_run",
			Detail: detail(req, "dry run: not committed, no pull request"), DeliveryID: delivery}, log)
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("release: %w", err)
	}
	if err := r.closeOlder(ctx, gh, repo, older, req, delivery, log); err != nil {
		return res, err
	}
	if err := gh.SetBranch(ctx, repo, req.Branch(), sha); err != nil {
		return res, fmt.Errorf("release: %w", err)
	}
	pr, err := gh.CreatePull(ctx, repo, title, req.Branch(), base, body.Render())
	if err != nil {
		return res, fmt.Errorf("release: %w", err)
	}
	res.PR = pr
	r.audit(ctx, audit.Entry{Repo: repo.String(), PR: pr.Number, HeadSHA: sha, BaseSHA: tip, Action: ActionRelease, Actor: req.Actor,
		Outcome: "opened", Detail: detail(req, ""), DeliveryID: delivery}, log)
	res.Superseded = r.superseded(ctx, gh, repo, older, pr, req, delivery, log)
	log.Info("release pull request opened", "pr", pr.Number, "superseded", res.Superseded, "rollback", res.Rollback)
	return res, nil
}

func (r *Releaser) audit(ctx context.Context, e audit.Entry, log *slog.Logger) {
	appendAudit(ctx, r.Audit, log, e)
}

// detail returns the audit detail of a release: trigger, origin and
// image references.
func detail(req release.Request, note string) string {
	var refs []string
	for _, img := range req.Images {
		refs = append(refs, img.Ref())
	}
	d := fmt.Sprintf("%s %s to %s: %s", req.Trigger, req.Origin, req.Env, strings.Join(refs, ", "))
	if req.PromotedFrom > 0 {
		d += fmt.Sprintf("; promoted from #%d", req.PromotedFrom)
	}
	if note != "" {
		d += "; " + note
	}
	return d
}

// same reports whether two requests are the same release (a retried job).
func same(a, b release.Request) bool {
	return a.Trigger == b.Trigger && a.Origin == b.Origin && a.Actor == b.Actor && a.PromotedFrom == b.PromotedFrom &&
		slices.Equal(a.Images, b.Images)
}

// bump sets the images in the kustomization of each overlay at commit tip
// and returns the changed files and the changes.
func bump(ctx context.Context, gh FileGetter, repo planbot.Repo, tip string, overlays []string, images []release.Image) (map[string][]byte, []release.Change, error) {
	files := map[string][]byte{}
	var changes []release.Change
	for _, dir := range overlays {
		file, data, err := kustomization(ctx, gh, repo, tip, dir)
		if err != nil {
			return nil, nil, err
		}
		out, c, err := release.SetImages(data, images)
		if err != nil {
			return nil, nil, planbot.Errorf(planbot.EINVALID, "%s: %v", file, err)
		}
		if len(c) > 0 {
			files[file] = out
			changes = append(changes, c...)
		}
	}
	return files, changes, nil
}

// kustomization returns the path and content of the kustomization file of
// the overlay dir at commit sha.
func kustomization(ctx context.Context, gh FileGetter, repo planbot.Repo, sha, dir string) (string, []byte, error) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		data, err := gh.GetFile(ctx, repo, p, sha)
		if planbot.ErrorCode(err) == planbot.ENOTFOUND {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("release: %w", err)
		}
		return p, data, nil
	}
	return "", nil, planbot.Errorf(planbot.EINVALID, "overlay %s has no kustomization file", dir)
}

var commitSHARE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// rollback reports whether a change goes from one commit SHA to an older
// one: the new tag's commit is an ancestor of the one it replaces.
func (r *Releaser) rollback(ctx context.Context, gh releasePulls, repo planbot.Repo, changes []release.Change) bool {
	for _, c := range changes {
		if !commitSHARE.MatchString(c.From) || !commitSHARE.MatchString(c.To) || c.From == c.To {
			continue
		}
		older, err := gh.IsAncestor(ctx, repo, c.To, c.From)
		if err != nil {
			r.Logger.Info("cannot tell whether a release is a rollback", "repo", repo.String(), "err", err)
			continue
		}
		if older {
			return true
		}
	}
	return false
}
