package runner

import (
	"context"
	"fmt"

	"github.com/planbot/planbot"
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
	// Delivery is the push delivery that asked for it.
	Delivery string
}

// Prerender renders every Kustomize overlay of the commit req names, the
// new tip of the default branch, into the render cache. A pull request
// based on that commit then finds its base rendered and renders only its
// head; so does any pull request whose base renders the same inputs, as the
// cache is keyed by content. Each render takes one plan slot, in turn, so
// pre-rendering never holds more than one slot. An overlay that does not
// build is logged and skipped: the plan that needs it reports the error.
// Prerender does nothing without a cache.
func (p *Planner) Prerender(ctx context.Context, gh Tokener, req PushRequest) error {
	cache := p.Kustomize.Cache
	if cache == nil {
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
	tree, err := p.Workspaces.Checkout(ctx, src, req.SHA, "_prerender")
	if err != nil {
		return fmt.Errorf("prerender: %w", err)
	}
	// Only this checkout goes: a drift pass may be planning other
	// checkouts of the default branch (also pull request 0) meanwhile.
	defer func() {
		if err := p.Workspaces.Remove(context.WithoutCancel(ctx), req.Repo, tree); err != nil {
			log.Warn("remove pre-render workspace", "err", err)
		}
	}()
	overlays, err := kustomize.Overlays(tree)
	if err != nil {
		return fmt.Errorf("prerender: %w", err)
	}
	before := cache.Renders()
	for _, dir := range overlays {
		// Pre-rendering is background work: it takes a slot only when no
		// pull request's plan waits for one.
		release, err := p.Slots.AcquireIdle(ctx)
		if err != nil {
			return fmt.Errorf("prerender: %w", err)
		}
		_, err = kustomize.Build(ctx, tree, dir, p.Kustomize)
		release()
		if ctx.Err() != nil {
			return fmt.Errorf("prerender: %w", ctx.Err())
		}
		if err != nil {
			log.Info("overlay does not build on the default branch; not cached", "project", dir, "err", err)
		}
	}
	log.Info("default branch overlays rendered", "overlays", len(overlays), "rendered", cache.Renders()-before)
	return nil
}

// Prefetch fetches the commits of a branch that a push just created into
// the repository's cache (see workspaces.Manager.Sync). The plan of the
// pull request then opened from the branch finds its head, and its base
// when the cache has the base branch's tip, and fetches nothing: the
// fetch, most of the time planbot adds to terraform's, happens while the
// author is still opening the pull request. A failed prefetch is logged,
// not retried: that plan fetches for itself.
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
	return nil
}
