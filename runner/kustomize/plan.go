package kustomize

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/planbot/planbot"
)

// Plan renders the overlay in dir on the base and head trees concurrently
// and returns the difference as a planbot.Result of kind kustomize.
//
//   - An overlay with no kustomization on base is new: every head resource
//     is added and Manifest.New is set.
//   - An overlay with no kustomization on head is deleted
//     (planbot.StatusDeleted): every base resource is removed.
//   - A head that fails to build gives planbot.StatusFailed with
//     kustomize's error text in Error. A base that fails to build is
//     treated as empty, with a note in Output.
//   - Otherwise the status is planbot.StatusPlanned or
//     planbot.StatusNoChange and Summary reads "N added, N changed, N
//     removed" or "No changes.".
//
// Plan returns an error only when ctx ends.
func Plan(ctx context.Context, baseRoot, headRoot, dir string, opts Options) (res planbot.Result, err error) {
	start := time.Now()
	dir = path.Clean(filepath.ToSlash(dir))
	res = planbot.Result{Project: planbot.Project{Name: dir, Dir: dir, Kind: planbot.KindKustomize}}
	log := opts.logger().With("project", dir)

	type side struct {
		present bool
		res     []Resource
		err     error
	}
	var base, head side
	var wg sync.WaitGroup
	for _, s := range []struct {
		root string
		out  *side
	}{{baseRoot, &base}, {headRoot, &head}} {
		s.out.present = findKustomizationFile(filepath.Join(s.root, filepath.FromSlash(dir))) != ""
		if !s.out.present {
			continue
		}
		wg.Go(func() {
			s.out.res, s.out.err = buildSide(ctx, s.root, dir, opts)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("plan kustomize overlay %s: %w", dir, err)
	}
	defer func() { res.Duration = time.Since(start) }()

	if !base.present && !head.present {
		res.Status = planbot.StatusFailed
		res.Error = fmt.Sprintf("no kustomization in %s on the base or the head branch", dir)
		res.Summary = "Build failed."
		return res, nil
	}
	if head.err != nil {
		log.Info("kustomize build failed", "err", head.err)
		res.Status = planbot.StatusFailed
		res.Error = head.err.Error()
		res.Summary = "Build failed."
		return res, nil
	}
	if base.err != nil {
		log.Info("kustomize build of base failed", "err", base.err)
		res.Output = fmt.Sprintf("The overlay did not build on the base branch, so every resource is shown as added: %v", base.err)
		base.res = nil
	}
	md := Diff(base.res, head.res)
	md.New = !base.present
	res.Manifest = &md
	switch {
	case !head.present:
		res.Status = planbot.StatusDeleted
	case md.Added+md.Changed+md.Removed == 0:
		res.Status = planbot.StatusNoChange
	default:
		res.Status = planbot.StatusPlanned
	}
	res.Summary = Summary(md)
	if res.Status == planbot.StatusDeleted {
		res.Summary = "Overlay deleted: " + res.Summary
	}
	return res, nil
}

// buildSide builds one side of a plan.
func buildSide(ctx context.Context, root, dir string, opts Options) ([]Resource, error) {
	in, err := prepare(root, dir)
	if err != nil {
		return nil, err
	}
	return build(ctx, in, opts)
}

// Summary returns "N added, N changed, N removed", or "No changes." when
// all three are zero.
func Summary(md planbot.ManifestDiff) string {
	if md.Added+md.Changed+md.Removed == 0 {
		return "No changes."
	}
	return fmt.Sprintf("%d added, %d changed, %d removed", md.Added, md.Changed, md.Removed)
}
