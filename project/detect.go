// Package project finds the projects that a pull request changes.
//
// Detection is a plain function of a checked-out tree (the PR head) and
// the list of paths the PR changes; it reads files but runs nothing.
//
// For Terraform the model is:
//
//   - A module dir is a directory that holds at least one *.tf or
//     *.tf.json file.
//   - Module dirs refer to each other through the source attribute of
//     module blocks. A local source starts with "./" or "../" and is
//     resolved against the dir of the block; sources that leave the tree,
//     and registry or git sources, are not part of the graph.
//   - A root is a module dir that no other module dir uses as a local
//     module. Every other module dir is a module, planned only through
//     the roots that use it.
//   - A changed file marks the root of its own dir, whatever its kind
//     (*.tfvars, .terraform.lock.hcl, templates), and every root that
//     uses its dir as a module, directly or through other modules. Files
//     in subdirs of a root only count when the subdir is a module.
//   - A changed Terraform file (*.tf, *.tf.json, *.tfvars,
//     *.tfvars.json, .terraform.lock.hcl) whose dir no longer exists, or
//     no longer holds *.tf files, names a deleted dir, unless a
//     remaining module dir still uses the dir as a module. A removed
//     README is not a project. DeletedRoots keeps the deleted dirs that
//     were roots before the change: those are the deleted projects.
//
// The walk never follows symlinks, so a link cannot pull files from
// outside the tree into it, and it skips .git and .terraform dirs. Files
// that do not parse still make their dir a module dir; the modules they
// use are read from whatever part parsed, and terraform reports the
// errors when the project is planned.
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
)

// Detection is the outcome of detecting the projects of a change.
type Detection struct {
	// Projects are the changed projects, sorted by Dir.
	Projects []planbot.Project
	// Deleted are the repo-relative dirs of projects that the change
	// deletes, sorted.
	Deleted []string
}

// DetectTerraform returns the Terraform roots under root that the changed
// paths (repo-relative, slash-separated) affect, and the dirs of deleted
// projects. Paths outside root, and paths under .git or .terraform or
// through a symlink, are ignored. It fails only when the tree cannot be
// read.
func DetectTerraform(root string, changed []string) (Detection, error) {
	g, err := loadGraph(root)
	if err != nil {
		return Detection{}, err
	}
	roots := map[string]bool{}
	deleted := map[string]bool{}
	for _, p := range changed {
		p, ok := config.CleanPath(filepath.ToSlash(p))
		if !ok {
			continue
		}
		dir := path.Dir(p)
		if g.ignored(dir) {
			continue
		}
		switch {
		case g.modules[dir]:
			g.markRoots(dir, roots)
		case len(g.users[dir]) > 0:
			// A module that no longer exists: its users will fail to
			// plan, and they should.
			g.markRoots(dir, roots)
		case isTerraformFile(path.Base(p)):
			deleted[dir] = true
		}
	}

	var d Detection
	for _, dir := range sortedKeys(roots) {
		d.Projects = append(d.Projects, planbot.Project{
			Name:      dir,
			Dir:       dir,
			Workspace: "default",
			Kind:      planbot.KindTerraform,
		})
	}
	d.Deleted = sortedKeys(deleted)
	return d, nil
}

// DeletedRoots returns the dirs among deleted (repo-relative, as in
// Detection.Deleted) that are Terraform roots in the tree at baseRoot,
// the commit before the change, sorted. A deleted dir that was only a
// module there is not a project of its own: the roots that used it are
// planned instead.
func DeletedRoots(baseRoot string, deleted []string) ([]string, error) {
	if len(deleted) == 0 {
		return nil, nil
	}
	g, err := loadGraph(baseRoot)
	if err != nil {
		return nil, err
	}
	roots := map[string]bool{}
	for _, dir := range deleted {
		if g.modules[dir] && len(g.users[dir]) == 0 && !g.ignored(dir) {
			roots[dir] = true
		}
	}
	return sortedKeys(roots), nil
}

// graph is the module graph of a tree.
type graph struct {
	root string
	// modules holds every module dir.
	modules map[string]bool
	// users maps a dir to the module dirs that use it as a local module.
	// Its keys need not be module dirs: a used module may be missing.
	users map[string][]string
}

func loadGraph(root string) (*graph, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("detect terraform projects: %w", err)
	}
	g := &graph{root: root, modules: map[string]bool{}, users: map[string][]string{}}
	files := map[string][]string{} // module dir -> its .tf and .tf.json files
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || d.Name() == ".terraform") {
				return filepath.SkipDir
			}
			return nil
		}
		// Symlinks, to dirs or files, are neither followed nor read.
		if !d.Type().IsRegular() {
			return nil
		}
		if planbot.IsConfigFile(d.Name()) {
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			dir := filepath.ToSlash(rel)
			files[dir] = append(files[dir], p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("detect terraform projects: %w", err)
	}
	parser := hclparse.NewParser()
	for dir, paths := range files {
		g.modules[dir] = true
		for _, f := range paths {
			for _, src := range moduleSources(parser, f) {
				target, ok := resolveLocal(dir, src)
				if !ok || target == dir {
					continue
				}
				if !slices.Contains(g.users[target], dir) {
					g.users[target] = append(g.users[target], dir)
				}
			}
		}
	}
	return g, nil
}

var (
	moduleSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}}}
	sourceSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}}
)

// partialContent parses the Terraform file at p, JSON or native syntax by
// its name, and returns what of its body schema names: nil when nothing
// of it parses. Errors are left to terraform.
func partialContent(parser *hclparse.Parser, p string, schema *hcl.BodySchema) *hcl.BodyContent {
	var f *hcl.File
	if strings.HasSuffix(p, ".json") {
		f, _ = parser.ParseJSONFile(p)
	} else {
		f, _ = parser.ParseHCLFile(p)
	}
	if f == nil || f.Body == nil {
		return nil
	}
	content, _, _ := f.Body.PartialContent(schema)
	return content
}

// moduleSources returns the literal source attributes of the module
// blocks in the file at p. Whatever does not parse is skipped.
func moduleSources(parser *hclparse.Parser, p string) []string {
	content := partialContent(parser, p, moduleSchema)
	if content == nil {
		return nil
	}
	var sources []string
	for _, b := range content.Blocks {
		attrs, _, _ := b.Body.PartialContent(sourceSchema)
		if attrs == nil {
			continue
		}
		a, ok := attrs.Attributes["source"]
		if !ok {
			continue
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			continue
		}
		sources = append(sources, v.AsString())
	}
	return sources
}

// resolveLocal returns the dir that a local module source used in dir
// names, and false when src is not local or leaves the tree.
func resolveLocal(dir, src string) (string, bool) {
	if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") {
		return "", false
	}
	target := path.Clean(path.Join(dir, src))
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", false
	}
	return target, true
}

// markRoots adds to roots dir, if it is a root, and every root that uses
// dir through any chain of modules.
func (g *graph) markRoots(dir string, roots map[string]bool) {
	for d := range reach(dir, g.users) {
		if g.modules[d] && len(g.users[d]) == 0 {
			roots[d] = true
		}
	}
}

// reach returns start and every dir that edges lead to from it, directly
// or through others.
func reach(start string, edges map[string][]string) map[string]bool {
	seen := map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		queue = append(queue, edges[d]...)
	}
	return seen
}

// ignored reports whether dir is, or lies under, a symlink, .git or
// .terraform. A dir that does not exist is not ignored.
func (g *graph) ignored(dir string) bool {
	if dir == "." {
		return false
	}
	cur := g.root
	for _, elem := range strings.Split(dir, "/") {
		if elem == ".git" || elem == ".terraform" {
			return true
		}
		cur = filepath.Join(cur, elem)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return false
		}
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// isTerraformFile reports whether a file of this name is part of a
// Terraform configuration.
func isTerraformFile(name string) bool {
	if planbot.IsConfigFile(name) {
		return true
	}
	for _, suffix := range []string{".tfvars", ".tfvars.json"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return name == ".terraform.lock.hcl"
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Inputs returns dir and every local module dir it uses through any chain
// of modules, sorted: a change under any of them can change dir's plan.
func Inputs(root, dir string) ([]string, error) {
	g, err := loadGraph(root)
	if err != nil {
		return nil, err
	}
	uses := map[string][]string{}
	for target, users := range g.users {
		for _, u := range users {
			uses[u] = append(uses[u], target)
		}
	}
	return sortedKeys(reach(path.Clean(dir), uses)), nil
}
