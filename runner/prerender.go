package runner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/project"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/workspaces"
)

// Tokener gives the installation token that git fetches with.
type Tokener interface {
	Token(ctx context.Context) (string, error)
}

// PushRequest names the new tip of a branch that a push moved or
// created: the default branch's for Prerender, a new branch's for
// Prefetch.
type PushRequest struct {
	Repo     planbot.Repo
	CloneURL string
	Branch   string
	SHA      string
	// DefaultBranch is the repository's default branch, which Prefetch
	// compares a new branch with.
	DefaultBranch string
	// Delivery is the push delivery that asked for it.
	Delivery string
}

// Prerender renders every Kustomize overlay of the commit req names, the
// new tip of the default branch, into the render cache. A pull request
// based on that commit then finds its base rendered and renders only its
// head; so does any pull request whose base renders the same inputs, as the
// cache is keyed by content. Renders run as renderCommit says. Prerender
// does nothing without a cache.
func (p *Planner) Prerender(ctx context.Context, gh Tokener, req PushRequest) error {
	if p.Kustomize.Cache == nil {
		return nil
	}
	log := p.Logger.With("repo", req.Repo.String(), "sha", req.SHA, "delivery", req.Delivery)
	token, err := gh.Token(ctx)
	if err != nil {
		return fmt.Errorf("prerender: %w", err)
	}
	src := workspaces.Source{Repo: req.Repo, CloneURL: req.CloneURL, Token: token, BaseRef: req.Branch, BaseSHA: req.SHA}
	if err := p.Workspaces.Sync(ctx, src); err != nil {
		return fmt.Errorf("prerender: %w", err)
	}
	n, rendered, err := p.renderCommit(ctx, src, req.SHA, "_prerender", kustomize.Overlays, log)
	if err != nil {
		return fmt.Errorf("prerender: %w", err)
	}
	log.Info("default branch overlays rendered", "overlays", n, "rendered", rendered)
	return nil
}

// renderCommit checks commit sha of src out under name, renders the
// overlays that choose picks from that checkout into the render cache, and
// removes the checkout. It returns how many overlays were picked and how
// many of them it rendered (the others were cached). Each render takes one
// plan slot, in turn, and only when no pull request's plan waits for one:
// pre-rendering is background work. An overlay that does not build is
// logged and skipped: the plan that needs it reports the error.
func (p *Planner) renderCommit(ctx context.Context, src workspaces.Source, sha, name string, choose func(tree string) ([]string, error), log *slog.Logger) (overlays int, rendered int64, err error) {
	tree, err := p.Workspaces.Checkout(ctx, src, sha, name)
	if err != nil {
		return 0, 0, err
	}
	// Only this checkout goes: a drift pass may be planning other
	// checkouts of the default branch (also pull request 0) meanwhile.
	defer func() {
		if err := p.Workspaces.Remove(context.WithoutCancel(ctx), src.Repo, tree); err != nil {
			log.Warn("remove pre-render workspace", "err", err)
		}
	}()
	dirs, err := choose(tree)
	if err != nil {
		return 0, 0, err
	}
	before := p.Kustomize.Cache.Renders()
	for _, dir := range dirs {
		release, err := p.Slots.AcquireIdle(ctx)
		if err != nil {
			return 0, 0, err
		}
		_, err = kustomize.Build(ctx, tree, dir, p.Kustomize)
		release()
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		if err != nil {
			log.Info("overlay does not build; not cached", "project", dir, "err", err)
		}
	}
	return len(dirs), p.Kustomize.Cache.Renders() - before, nil
}

// Prefetch fetches the commits of a branch that a push just created into
// the repository's cache (see workspaces.Manager.Sync). The plan of the
// pull request then opened from the branch finds its head, and its base
// when the cache has the base branch's tip, and fetches nothing: the
// fetch, most of the time planbot adds to terraform's, happens while the
// author is still opening the pull request. With a render cache, it then
// renders the head of every Kustomize overlay the branch changes (see
// prerenderBranch). A failed prefetch is logged, not retried: that plan
// fetches and renders for itself.
func (p *Planner) Prefetch(ctx context.Context, gh Tokener, req PushRequest) error {
	log := p.Logger.With("repo", req.Repo.String(), "branch", req.Branch, "sha", req.SHA, "delivery", req.Delivery)
	token, err := gh.Token(ctx)
	if err != nil {
		return fmt.Errorf("prefetch: %w", err)
	}
	src := workspaces.Source{Repo: req.Repo, CloneURL: req.CloneURL, Token: token, BaseRef: req.Branch, BaseSHA: req.SHA, ObjectsOnly: true}
	if err := p.Workspaces.Sync(ctx, src); err != nil {
		log.Warn("prefetch of a new branch failed; its pull request's plan fetches", "err", err)
		return nil
	}
	log.Debug("new branch prefetched")
	if p.Kustomize.Cache == nil || req.DefaultBranch == "" {
		return nil
	}
	if err := p.prerenderBranch(ctx, src, req, log); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("prefetch: %w", ctx.Err())
		}
		log.Info("the new branch's overlays were not pre-rendered; its pull request's plan renders them", "err", err)
	}
	return nil
}

// prerenderBranch renders the head of every Kustomize overlay that a new
// branch changes, compared with the default branch's tip as the cache last
// fetched it, into the render cache. The plan of the pull request opened
// from the branch then finds both sides of those overlays cached (its base
// came with the default branch's Prerender) and renders nothing; a plan
// that starts while a render runs waits for it instead of rendering again.
// An older tip of the default branch only adds overlays to render, and an
// overlay missed is rendered by the plan: the cache is keyed by content,
// so what is cached is never wrong for a plan.
func (p *Planner) prerenderBranch(ctx context.Context, src workspaces.Source, req PushRequest, log *slog.Logger) error {
	base, err := p.Workspaces.BranchTip(ctx, req.Repo, req.DefaultBranch)
	if err != nil {
		// Nothing to compare with until a plan or a push to the default
		// branch fetches it.
		log.Debug("default branch not fetched yet; nothing pre-rendered", "err", err)
		return nil
	}
	files, err := p.Workspaces.ChangedFiles(ctx, req.Repo, base, req.SHA)
	if err != nil || len(files) == 0 {
		return err
	}
	// A commit without a kustomization has no overlay: a Terraform-only
	// repository costs a listing, not a checkout.
	paths, err := p.Workspaces.Paths(ctx, req.Repo, req.SHA)
	if err != nil || !slices.ContainsFunc(paths, kustomize.IsKustomizationFile) {
		return err
	}
	n, rendered, err := p.renderCommit(ctx, src, req.SHA, "_prefetch", func(tree string) ([]string, error) {
		return kustomize.Detect(tree, project.ChangedPaths(files))
	}, log)
	if err != nil || n == 0 {
		return err
	}
	log.Info("new branch's overlays rendered", "overlays", n, "rendered", rendered)
	return nil
}
