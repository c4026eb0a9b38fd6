package config

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/hashicorp/go-version"
	"github.com/robfig/cron/v3"

	"github.com/planbot/planbot"
)

var (
	// nameRE is the syntax of project names.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	// workspaceRE is the syntax of Terraform workspace names.
	workspaceRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
)

// validate checks the values of a decoded Repo, the rules that yaml and
// the Go types cannot express, and fills in the defaults of its projects.
func (d *decoder) validate(r *Repo) {
	d.validateTop(r)
	d.validateRelease(&r.Release)
	names := map[string]int{}
	locks := map[string]int{}
	for i := range r.Projects {
		p := &r.Projects[i]
		k := fmt.Sprintf("projects[%d]", i)
		d.validateProject(p, k)
		if first, ok := names[p.Name]; ok && p.Name != "" {
			d.errorf(d.line(k), k+".name", "%q is already the name of projects[%d] (set a distinct name)", p.Name, first)
		} else {
			names[p.Name] = i
		}
		lock := p.Dir + "@" + p.Workspace
		if first, ok := locks[lock]; ok && p.Dir != "" {
			d.errorf(d.line(k), k, "dir %q and workspace %q are already used by projects[%d]", p.Dir, p.Workspace, first)
		} else {
			locks[lock] = i
		}
	}
}

// validateTop checks the top-level keys.
func (d *decoder) validateTop(r *Repo) {
	if !d.has("version") {
		d.errorf(d.line(""), "version", "is required")
	} else if r.Version != 1 {
		d.errorf(d.line("version"), "version", "must be 1, not %d", r.Version)
	}
	switch r.MergeMethod {
	case "", "merge", "squash", "rebase":
		if d.has("merge_method") && r.MergeMethod == "" {
			d.errorf(d.line("merge_method"), "merge_method", "must be merge, squash or rebase")
		}
	default:
		d.errorf(d.line("merge_method"), "merge_method", "must be merge, squash or rebase, not %q", r.MergeMethod)
	}
	seenReq := map[string]bool{}
	for i, req := range r.ApplyRequirements {
		k := fmt.Sprintf("apply_requirements[%d]", i)
		switch {
		case req == "approved":
			d.errorf(d.line(k), k, "approved is not an option: CODEOWNERS approval is always required")
		case req != RequireMergeable && req != RequireUndiverged:
			d.errorf(d.line(k), k, "must be %s or %s, not %q", RequireMergeable, RequireUndiverged, req)
		case seenReq[req]:
			d.errorf(d.line(k), k, "%s is listed twice", req)
		}
		seenReq[req] = true
	}
	if d.has("terraform_version") {
		if _, err := version.NewConstraint(r.TerraformVersion); err != nil {
			d.errorf(d.line("terraform_version"), "terraform_version", "invalid version constraint %q", r.TerraformVersion)
		}
	}
	d.validateEngine(r.Engine, "engine")
	d.validateDrift(r.Drift, "drift")
	if d.has("projects") && len(r.Projects) == 0 {
		d.errorf(d.line("projects"), "projects", "must list at least one project (remove the key to autodetect projects)")
	}
}

// validateProject checks the project p at key path k and fills in its
// defaults.
func (d *decoder) validateProject(p *RepoProject, k string) {
	if !d.has(k + ".dir") {
		d.errorf(d.line(k), k+".dir", "is required")
	} else if dir, msg := cleanDir(p.Dir); msg != "" {
		d.errorf(d.line(k+".dir"), k+".dir", "%s", msg)
	} else {
		p.Dir = dir
	}
	if !d.has(k + ".name") {
		p.Name = p.Dir
	} else if !nameRE.MatchString(p.Name) || strings.HasPrefix(p.Name, "-") {
		d.errorf(d.line(k+".name"), k+".name", "%q must use only A-Z a-z 0-9 . _ / - and not start with -", p.Name)
	}
	if !d.has(k + ".workspace") {
		p.Workspace = "default"
	} else if !workspaceRE.MatchString(p.Workspace) {
		d.errorf(d.line(k+".workspace"), k+".workspace", "%q must use only A-Z a-z 0-9 . _ - and start with a letter, digit or _", p.Workspace)
	}
	switch p.Kind {
	case planbot.KindTerraform, planbot.KindKustomize:
	default:
		if d.has(k + ".kind") {
			d.errorf(d.line(k+".kind"), k+".kind", "must be terraform or kustomize, not %q", p.Kind)
		}
	}
	d.validateEngine(p.Engine, k+".engine")
	if p.Kind == planbot.KindKustomize && d.has(k+".engine") {
		d.errorf(d.line(k+".engine"), k+".engine", "applies to Terraform projects only, and this one is kind kustomize")
	}
	d.validateDrift(p.Drift, k+".drift")
	wk := k + ".autoplan.when_modified"
	if d.has(wk) && len(p.Autoplan.WhenModified) == 0 {
		d.errorf(d.line(wk), wk, "must list at least one glob")
	}
	for j, g := range p.Autoplan.WhenModified {
		gk := fmt.Sprintf("%s[%d]", wk, j)
		if msg := checkGlob(g); msg != "" {
			d.errorf(d.line(gk), gk, "%q: %s", g, msg)
		} else if _, err := joinGlob(p.Dir, g); err != nil {
			d.errorf(d.line(gk), gk, "%q: %v", g, err)
		}
	}
}

// validateEngine checks the engine e at key path k.
func (d *decoder) validateEngine(e planbot.Engine, k string) {
	if !d.has(k) {
		return
	}
	if _, ok := planbot.ParseEngine(string(e)); !ok {
		d.errorf(d.line(k), k, "must be terraform or tofu (OpenTofu), not %q", e)
	}
}

// cleanDir validates a project dir and returns it cleaned, or a message
// saying what is wrong with it.
func cleanDir(dir string) (string, string) {
	if dir == "" {
		return "", "must not be empty"
	}
	if path.IsAbs(dir) || slices.Contains(strings.Split(dir, "/"), "..") {
		return "", `must be a relative path without ".."`
	}
	if strings.HasPrefix(dir, "-") {
		return "", `must not start with "-"`
	}
	if !nameRE.MatchString(dir) {
		return "", fmt.Sprintf("%q must use only A-Z a-z 0-9 . _ / -", dir)
	}
	if strings.Contains(dir, "//") {
		return "", "must not contain empty path segments"
	}
	return path.Clean(dir), ""
}

// checkGlob returns what is wrong with the syntax of a when_modified glob,
// or "".
func checkGlob(g string) string {
	g = strings.TrimPrefix(g, "!")
	if g == "" {
		return "must not be empty"
	}
	if strings.HasPrefix(g, "!") {
		return `only one leading "!" is allowed`
	}
	if path.IsAbs(g) {
		return "must be relative to the project dir"
	}
	dots := true
	for seg := range strings.SplitSeq(g, "/") {
		if seg == ".." {
			if !dots {
				return `".." may only lead the glob`
			}
			continue
		}
		dots = false
	}
	if !doublestar.ValidatePattern(g) {
		return "invalid glob syntax"
	}
	return ""
}

// joinGlob resolves a when_modified glob against the project dir into a
// repo-relative glob.
func joinGlob(dir, g string) (string, error) {
	j := path.Join(dir, strings.TrimPrefix(g, "!"))
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", errors.New("leaves the repository")
	}
	return j, nil
}

// validateDrift checks the drift settings at key path k.
func (d *decoder) validateDrift(dr Drift, k string) {
	if dr.Schedule == "" {
		if d.has(k + ".schedule") {
			d.errorf(d.line(k+".schedule"), k+".schedule", "must be a 5-field cron expression (remove the key to check on every pass)")
		}
		return
	}
	if _, err := cron.ParseStandard(dr.Schedule); err != nil {
		d.errorf(d.line(k+".schedule"), k+".schedule", "%q is not a 5-field cron expression: %v", dr.Schedule, err)
	}
}
