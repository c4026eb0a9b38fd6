package config

import (
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/planbot/planbot"
)

// Match returns the declared projects that the changed paths (repo-relative,
// slash-separated; pass both names of a rename) affect, in file order. A
// project is affected when some changed path matches its when_modified
// globs: the last glob that matches a path decides, and it includes the
// path unless it starts with "!". Match returns nil when the file declares
// no projects; the caller then autodetects them.
//
// A project whose kind is still "" (see ResolveKinds) is returned with an
// empty Kind and matched with DefaultWhenModified("").
func (r *Repo) Match(changed []string) []planbot.Project {
	var out []planbot.Project
	for _, p := range r.Projects {
		globs := p.Autoplan.WhenModified
		if globs == nil {
			globs = DefaultWhenModified(p.Kind)
		}
		if p.matchesAny(globs, changed) {
			out = append(out, planbot.Project{Name: p.Name, Dir: p.Dir, Workspace: p.Workspace, Kind: p.Kind})
		}
	}
	return out
}

func (p RepoProject) matchesAny(globs, changed []string) bool {
	type rule struct {
		glob    string
		exclude bool
	}
	rules := make([]rule, 0, len(globs))
	for _, g := range globs {
		j, err := joinGlob(p.Dir, g)
		if err != nil {
			continue // ParseRepo rejects these.
		}
		rules = append(rules, rule{glob: j, exclude: strings.HasPrefix(g, "!")})
	}
	for _, c := range changed {
		c, ok := CleanPath(c)
		if !ok {
			continue
		}
		in := false
		for _, r := range rules {
			if globMatch(r.glob, c) {
				in = !r.exclude
			}
		}
		if in {
			return true
		}
	}
	return false
}

// CleanPath returns the slash-separated, repository-relative path p
// cleaned, and false when it is empty, absolute or leaves the repository.
func CleanPath(p string) (string, bool) {
	if p == "" || path.IsAbs(p) {
		return "", false
	}
	p = path.Clean(p)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// globMatch reports whether the slash-separated path name matches the
// repo-relative glob, in doublestar's syntax: a "**" segment matches any
// number of segments, including none, and other segments match within
// one segment. A glob of "." (the root project's dir) matches every path.
func globMatch(glob, name string) bool {
	if glob == "." {
		return true
	}
	ok, err := doublestar.Match(glob, name)
	return ok && err == nil
}
