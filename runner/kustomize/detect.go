package kustomize

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
)

// Detect returns the leaf overlays under root that the changed files
// affect: the kustomizations that no other kustomization includes and that
// hold, reference or transitively include a changed file. changed holds
// repo-relative slash paths (for a rename, pass both the old and the new
// path). The result is sorted and uses repo-relative slash paths ("." for
// the root).
//
// A leaf of kind Component is never returned: components are only built as
// part of an overlay. Overlays whose directory is gone on head are not
// found here because root is the head tree; see DetectDeleted.
func Detect(root string, changed []string) (overlays []string, err error) {
	nodes, err := scan(root)
	if err != nil {
		return nil, fmt.Errorf("detect kustomize overlays: %w", err)
	}
	return markedLeaves(nodes, changed), nil
}

// DetectDeleted returns the leaf overlays of the base tree that the changed
// files affect and whose directory no longer holds a kustomization in the
// head tree, sorted. Plan reports such an overlay as planbot.StatusDeleted.
func DetectDeleted(baseRoot, headRoot string, changed []string) ([]string, error) {
	nodes, err := scan(baseRoot)
	if err != nil {
		return nil, fmt.Errorf("detect deleted kustomize overlays: %w", err)
	}
	var gone []string
	for _, dir := range markedLeaves(nodes, changed) {
		if findKustomizationFile(filepath.Join(headRoot, filepath.FromSlash(dir))) == "" {
			gone = append(gone, dir)
		}
	}
	return gone, nil
}

// markedLeaves marks the nodes the changed files touch, propagates the
// marks to every includer and returns the marked leaves, sorted.
func markedLeaves(nodes map[string]*node, changed []string) []string {
	includers := make(map[string][]string) // included dir -> including dirs
	referenced := make(map[string]bool)
	for _, n := range nodes {
		for _, r := range n.Refs {
			if r.Path == "" || !r.Dir {
				continue
			}
			if _, ok := nodes[r.Path]; ok && r.Path != n.Dir {
				includers[r.Path] = append(includers[r.Path], n.Dir)
				referenced[r.Path] = true
			}
		}
	}

	marked := make(map[string]bool)
	var queue []string
	mark := func(dir string) {
		if !marked[dir] {
			marked[dir] = true
			queue = append(queue, dir)
		}
	}
	for _, c := range changed {
		c = path.Clean(strings.TrimPrefix(filepath.ToSlash(c), "/"))
		// The nearest kustomization directory that holds the file.
		for d := path.Dir(c); ; d = path.Dir(d) {
			if _, ok := nodes[d]; ok {
				mark(d)
				break
			}
			if d == "." {
				break
			}
		}
		// Every kustomization that names the file, or a directory of it.
		for _, n := range nodes {
			for _, r := range n.Refs {
				if r.Path != "" && refMatches(r.Path, c) {
					mark(n.Dir)
				}
			}
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, up := range includers[d] {
			mark(up)
		}
	}

	var leaves []string
	for d := range marked {
		n := nodes[d]
		if referenced[d] || n.K.Kind == types.ComponentKind {
			continue
		}
		leaves = append(leaves, d)
	}
	sort.Strings(leaves)
	return leaves
}

// refMatches reports whether the changed file c is the referenced path p,
// lies under it, or matches it as a glob.
func refMatches(p, c string) bool {
	if p == c || strings.HasPrefix(c, p+"/") {
		return true
	}
	if strings.ContainsAny(p, "*?[") {
		ok, _ := path.Match(p, c)
		return ok
	}
	return false
}

// Inputs returns every kustomization dir that the overlay in dir reads,
// itself included, sorted: a change under any of them can change what the
// overlay renders.
func Inputs(root, dir string) ([]string, error) {
	in, err := prepare(root, dir)
	if err != nil {
		return nil, err
	}
	return in.kdirs, nil
}

// Overlays returns every leaf overlay under root, sorted: the
// kustomizations that no other kustomization includes, components left
// out. They are what a change to the tree can make planbot render.
func Overlays(root string) ([]string, error) {
	nodes, err := scan(root)
	if err != nil {
		return nil, fmt.Errorf("list kustomize overlays: %w", err)
	}
	files := make([]string, 0, len(nodes))
	for d, n := range nodes {
		files = append(files, path.Join(d, n.File))
	}
	// Every kustomization counts as changed: the leaves are what remains
	// once the included ones are dropped.
	return markedLeaves(nodes, files), nil
}
