package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// ref is one local or remote path that a kustomization names.
type ref struct {
	// Field is the kustomization field that holds the reference.
	Field string
	// Value is the reference as written.
	Value string
	// Path is Value resolved against the kustomization's directory,
	// slash-separated and relative to the workspace root. It is empty for
	// remote references and for paths that leave the root.
	Path string
	// Remote reports whether Value names a remote location.
	Remote bool
	// Escapes reports whether Value resolves outside the workspace root.
	Escapes bool
	// Dir reports whether the field may name a kustomization directory
	// (resources, bases, components).
	Dir bool
}

// node is one parsed kustomization.
type node struct {
	Dir  string // slash-separated, relative to the root
	File string // name of the kustomization file
	K    types.Kustomization
	Refs []ref
}

// IsKustomizationFile reports whether the slash path p names a file that
// kustomize reads as a directory's kustomization.
func IsKustomizationFile(p string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(p))
}

// findKustomizationFile returns the name of the kustomization file in the
// directory dir, or "" when there is none.
func findKustomizationFile(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && fi.Mode().IsRegular() {
			return name
		}
	}
	return ""
}

// parseNode reads and parses the kustomization in root/dir. It returns
// (nil, nil) when the directory holds no kustomization.
func parseNode(root, dir string) (*node, error) {
	abs := filepath.Join(root, filepath.FromSlash(dir))
	name := findKustomizationFile(abs)
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(abs, name))
	if err != nil {
		return nil, fmt.Errorf("read kustomization %s: %w", path.Join(dir, name), err)
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("parse kustomization %s: %w", path.Join(dir, name), err)
	}
	k.FixKustomization()
	n := &node{Dir: dir, File: name, K: k}
	n.Refs = references(dir, &k)
	return n, nil
}

// references lists the paths that the kustomization k in dir names.
func references(dir string, k *types.Kustomization) []ref {
	var refs []ref
	add := func(field, v string, isDir bool) {
		v = strings.TrimSpace(v)
		if v == "" {
			return
		}
		r := ref{Field: field, Value: v, Dir: isDir}
		if isRemote(v) {
			r.Remote = true
		} else {
			p := path.Clean(path.Join(dir, filepath.ToSlash(v)))
			if path.IsAbs(filepath.ToSlash(v)) || p == ".." || strings.HasPrefix(p, "../") {
				r.Escapes = true
			} else {
				r.Path = p
			}
		}
		refs = append(refs, r)
	}
	for _, v := range k.Resources { // FixKustomization moved bases here
		add("resources", v, true)
	}
	for _, v := range k.Components {
		add("components", v, true)
	}
	for _, v := range k.Crds {
		add("crds", v, false)
	}
	for _, p := range k.Patches {
		add("patches", p.Path, false)
	}
	for _, p := range k.PatchesStrategicMerge {
		if s := string(p); !isInline(s) {
			add("patchesStrategicMerge", s, false)
		}
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902", p.Path, false)
	}
	for _, r := range k.Replacements {
		add("replacements", r.Path, false)
	}
	for _, v := range k.Configurations {
		add("configurations", v, false)
	}
	for field, list := range map[string][]string{
		"generators": k.Generators, "transformers": k.Transformers, "validators": k.Validators,
	} {
		for _, v := range list {
			if !isInline(v) {
				add(field, v, true)
			}
		}
	}
	if p, ok := k.OpenAPI["path"]; ok {
		add("openapi", p, false)
	}
	gen := func(field string, src types.KvPairSources) {
		for _, f := range src.FileSources {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			add(field, f, false)
		}
		for _, e := range src.EnvSources {
			add(field, e, false)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		gen("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		gen("secretGenerator", g.KvPairSources)
	}
	return refs
}

// isInline reports whether a patch or plugin entry is inline YAML rather
// than a path.
func isInline(s string) bool { return strings.Contains(s, "\n") }

// remotePattern matches the forms kustomize treats as remote: URLs, scp-like
// git addresses, go-getter prefixes and hosting sites without a scheme.
var remotePattern = regexp.MustCompile(`^(?i)([a-z][a-z0-9+.-]*://|git@|git::|ssh:|https?:|file:|(github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com)[/:])`)

// isRemote reports whether a kustomization reference names a remote
// location.
func isRemote(s string) bool {
	return remotePattern.MatchString(s) || strings.Contains(s, "?ref=") || strings.Contains(s, "?version=")
}

// errSkip is returned by walk functions to prune a directory.
var errSkip = fs.SkipDir

// scan parses every kustomization under root. Directories named .git and
// symbolic links are not followed.
func scan(root string) (map[string]*node, error) {
	nodes := make(map[string]*node)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable subtrees hold no kustomization we can plan
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == ".git" {
			return errSkip
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		n, err := parseNode(root, filepath.ToSlash(rel))
		if err != nil {
			// Keep a kustomization that does not parse as a node without
			// references: a change to it still marks it, and Build
			// reports the parse error for the overlay.
			n = &node{Dir: filepath.ToSlash(rel), File: findKustomizationFile(p)}
		}
		if n != nil {
			nodes[n.Dir] = n
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return nil, err
	}
	return nodes, nil
}
