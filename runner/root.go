package runner

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/workspaces"
)

// Checkouter checks a commit out into the directory of a name.
type Checkouter interface {
	Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error)
}

// treeCopier copies a checkout of a commit into the directory of a name
// without git (workspaces.Manager.CopyCheckout).
type treeCopier interface {
	CopyCheckout(ctx context.Context, src workspaces.Source, sha, name, tree string) (string, error)
}

// copyFrom is a Checkouter that copies tree, a checkout of the commit it is
// asked for, instead of writing the commit out of the repository cache again.
type copyFrom struct {
	ws   treeCopier
	tree string
}

// Checkout implements Checkouter.
func (c copyFrom) Checkout(ctx context.Context, src workspaces.Source, sha, name string) (string, error) {
	return c.ws.CopyCheckout(ctx, src, sha, name, c.tree)
}

// fromTree returns the Checkouter that gives each root of a commit its own
// copy of tree, that commit's shared checkout; ws itself when there is no
// tree. The copy is as isolated as a checkout of its own, and costs no git
// process.
func fromTree(ws interface {
	Checkouter
	treeCopier
}, tree string) Checkouter {
	if tree == "" {
		return ws
	}
	return copyFrom{ws: ws, tree: tree}
}

// PlanFunc plans the Terraform root in dir: Terraform.Plan, or
// Terraform.PlanDestroy for a root that the change deletes.
type PlanFunc func(ctx context.Context, dir, workspace string, opts ...terraform.RunOption) (planbot.Result, error)

// CheckoutRoot checks commit sha of src out into the directory of Terraform
// root prj and returns the function that plans the root there with plan
// and the project's engine, opts added to the root's. PR plans and drift passes share it, and both
// check out before they take their slot: checkouts wait for the
// repository cache, which every plan shares, and a slot held meanwhile
// would leave terraform idle. A failed checkout or plan gives a failed
// result, logged to log.
func CheckoutRoot(ctx context.Context, ws Checkouter, src workspaces.Source, sha string, prj planbot.Project, plan PlanFunc, log *slog.Logger, opts ...terraform.RunOption) func() planbot.Result {
	fail := func(err error) planbot.Result {
		log.Error("plan project", "err", err)
		return planbot.Result{Project: prj, Status: planbot.StatusFailed, Error: planbot.ErrorMessage(err)}
	}
	root, err := ws.Checkout(ctx, src, sha, prj.Name)
	if err != nil {
		res := fail(err)
		return func() planbot.Result { return res }
	}
	dir, err := workspaces.SafeJoin(root, prj.Dir)
	if err != nil {
		res := fail(err)
		return func() planbot.Result { return res }
	}
	return func() planbot.Result {
		res, err := plan(ctx, dir, prj.WorkspaceName(), append([]terraform.RunOption{terraform.Root(root), terraform.UseEngine(prj.Engine)}, opts...)...)
		res.Project = prj
		if err != nil && res.Status != planbot.StatusFailed {
			return fail(err)
		}
		return res
	}
}

// ExportTrees checks commits of the local repository in RepoDir out with
// git archive, each name into its own directory under WorkDir/projects.
type ExportTrees struct{ RepoDir, WorkDir string }

// Checkout writes the tree of sha into the directory of name.
func (t ExportTrees) Checkout(ctx context.Context, _ workspaces.Source, sha, name string) (string, error) {
	dir := filepath.Join(t.WorkDir, "projects", workspaces.Slug(name))
	if err := ExportTree(ctx, t.RepoDir, sha, dir); err != nil {
		return "", err
	}
	return dir, nil
}
