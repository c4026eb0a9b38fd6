package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/robfig/cron/v3"

	"github.com/planbot/planbot"
)

// RepoFile is the name of the repository configuration file. planbot reads
// it from the root of the PR's base branch, never from its head, so that a
// pull request cannot change the rules it is judged by.
const RepoFile = ".planbot.yaml"

// The apply requirements a repository may add on top of the CODEOWNERS rule,
// which is always enforced and cannot be turned off.
const (
	// RequireMergeable makes /apply wait until GitHub reports the PR as
	// mergeable (no conflicts with its base).
	RequireMergeable = "mergeable"
	// RequireUndiverged refuses /apply when the base branch has commits
	// that the PR's head does not contain.
	RequireUndiverged = "undiverged"
)

// Repo is the configuration a repository gives planbot in RepoFile.
//
// The file is optional. Without it DefaultRepo applies: projects are
// autodetected, the PR is merged after everything is applied, with the
// server's --merge-method or else the first method the repository allows.
// With it, planbot is strict: unknown keys, wrong types and invalid values
// are errors reported with their line, and the PR gets no plan until the
// base branch has a valid file.
//
// When Projects is not empty, exactly those projects exist and nothing is
// autodetected; a project is planned when a changed file matches one of its
// autoplan.when_modified globs.
type Repo struct {
	// Version is the file format version; only 1 exists.
	Version int `yaml:"version"`
	// Automerge reports whether planbot merges the PR once every project
	// is applied. It defaults to true.
	Automerge bool `yaml:"automerge"`
	// MergeMethod is merge, squash or rebase; "" falls back to the server's
	// --merge-method, then to the first method the repository allows.
	MergeMethod string `yaml:"merge_method"`
	// ApplyRequirements are extra gates for /apply: RequireMergeable and
	// RequireUndiverged.
	ApplyRequirements []string `yaml:"apply_requirements"`
	// TerraformVersion is a hashicorp/go-version constraint, such as
	// ">= 1.5, < 2.0", that the terraform binary must satisfy. "" accepts
	// any version.
	TerraformVersion string `yaml:"terraform_version"`
	// Engine runs every Terraform project that names no engine of its
	// own: terraform or tofu (OpenTofu). "" leaves it to the server
	// (--terraform-bin).
	Engine planbot.Engine `yaml:"engine"`
	// Drift sets drift detection for every project; a project's own
	// drift settings override it.
	Drift Drift `yaml:"drift"`
	// Projects, when not empty, are the only projects of the repository.
	Projects []RepoProject `yaml:"projects"`
	// Release configures releases into the repository; see Releases.
	Release Release `yaml:"release"`
}

// Releases reports whether the repository takes releases: it has a
// release section (which lists at least one product once validated).
func (r *Repo) Releases() bool { return len(r.Release.Products) > 0 }

// Drift narrows the server's drift detection (--drift-schedule) for a
// repository or one project. Without it every Terraform project is checked
// on every pass.
type Drift struct {
	// Enabled, when set to false, leaves the project out of drift passes.
	Enabled *bool `yaml:"enabled"`
	// Schedule, a 5-field cron expression, checks the project only on the
	// server's passes that start after it fired since the previous pass:
	// it can make checks rarer, never more frequent. "" checks on every
	// pass.
	Schedule string `yaml:"schedule"`
}

// DriftFor returns the drift settings of the project called name: its own
// fields where set, the repository's otherwise.
func (r *Repo) DriftFor(name string) Drift {
	d := r.Drift
	for _, p := range r.Projects {
		if p.Name != name {
			continue
		}
		if p.Drift.Enabled != nil {
			d.Enabled = p.Drift.Enabled
		}
		if p.Drift.Schedule != "" {
			d.Schedule = p.Drift.Schedule
		}
	}
	return d
}

// DriftDue reports whether a drift pass for the window (from, to] checks
// the project called name: it is enabled, and its schedule, if any, fired
// in the window. A zero from (the first pass) counts every schedule as
// fired.
func (r *Repo) DriftDue(name string, from, to time.Time) bool {
	d := r.DriftFor(name)
	if d.Enabled != nil && !*d.Enabled {
		return false
	}
	if d.Schedule == "" || from.IsZero() {
		return true
	}
	s, err := cron.ParseStandard(d.Schedule)
	if err != nil {
		return true // validated when parsed; never silently skip
	}
	return !s.Next(from).After(to)
}

// RepoProject is one project declared in RepoFile.
type RepoProject struct {
	// Name identifies the project in commands. It defaults to Dir.
	Name string `yaml:"name"`
	// Dir is the repo-relative, slash-separated, cleaned directory of the
	// project ("." for the root).
	Dir string `yaml:"dir"`
	// Workspace is the Terraform workspace; it defaults to "default".
	Workspace string `yaml:"workspace"`
	// Kind is terraform or kustomize. It is "" when the file leaves it to
	// detection; ResolveKinds fills it in from a checkout.
	Kind planbot.Kind `yaml:"kind"`
	// Engine runs the project when it is a Terraform project: terraform
	// or tofu (OpenTofu). "" means the repository's Engine.
	Engine   planbot.Engine `yaml:"engine"`
	Autoplan Autoplan       `yaml:"autoplan"`
	// Drift overrides the repository's drift settings for this project.
	Drift Drift `yaml:"drift"`
	// Line is the line of the project's entry in the file.
	Line int `yaml:"-"`
}

// Autoplan says when a declared project is planned.
type Autoplan struct {
	// WhenModified are globs relative to the project's dir. "**" matches
	// any number of path segments, a leading "!" excludes what an earlier
	// glob included, and leading ".." segments reach shared dirs. Nil
	// means the defaults of the project's kind (see DefaultWhenModified).
	WhenModified []string `yaml:"when_modified"`
}

// DefaultRepo returns the configuration of a repository without RepoFile.
func DefaultRepo() *Repo {
	return &Repo{Version: 1, Automerge: true}
}

// DefaultWhenModified returns the autoplan globs of a project of the given
// kind that does not set autoplan.when_modified. A project whose kind is
// not yet known is planned on any change in its dir.
func DefaultWhenModified(kind planbot.Kind) []string {
	switch kind {
	case planbot.KindTerraform:
		return []string{"**/*.tf", "**/*.tf.json", "**/*.tofu", "**/*.tofu.json", "**/*.tfvars", "**/*.tfvars.json", "**/*.hcl"}
	default:
		return []string{"**"}
	}
}

// SetEngines sets the engine of every Terraform project in ps that names
// none: the one its entry in RepoFile declares, else the repository's
// Engine. ps come from Match or from autodetection.
func (r *Repo) SetEngines(ps []planbot.Project) {
	for i := range ps {
		p := &ps[i]
		if p.Kind == planbot.KindKustomize || p.Engine != "" {
			continue
		}
		p.Engine = r.Engine
		for _, d := range r.Projects {
			if d.Name == p.Name && d.Engine != "" {
				p.Engine = d.Engine
			}
		}
	}
}

// Explicit reports whether the file declares its projects, which turns
// autodetection off.
func (r *Repo) Explicit() bool { return len(r.Projects) > 0 }

// Requires reports whether the repository asks for the apply requirement
// req (RequireMergeable or RequireUndiverged).
func (r *Repo) Requires(req string) bool { return slices.Contains(r.ApplyRequirements, req) }

// RepoError is one problem in RepoFile, at a 1-based line (0 when the line
// is unknown). Msg starts with the path of the offending key, as in
// "projects[1].dir: must be a relative path without \"..\"".
type RepoError struct {
	Line int
	Msg  string
}

// Error returns ".planbot.yaml:LINE: MSG".
func (e *RepoError) Error() string {
	if e.Line <= 0 {
		return RepoFile + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", RepoFile, e.Line, e.Msg)
}

// RepoErrors are all the problems found in RepoFile, in file order.
//
// They are safe to show on a pull request: errors.As finds a
// *planbot.Error with code EINVALID in them, so planbot.ErrorCode and
// planbot.ErrorMessage treat them as invalid input and show every line.
type RepoErrors []*RepoError

// Error returns one problem per line.
func (l RepoErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// As lets errors.As find a *planbot.Error (code EINVALID) in l.
func (l RepoErrors) As(target any) bool {
	if p, ok := target.(**planbot.Error); ok {
		*p = planbot.Errorf(planbot.EINVALID, "%s", l.Error())
		return true
	}
	return false
}

// CheckTerraformVersion returns an EINVALID *planbot.Error when the
// terraform version (such as "1.11.2" or "v1.11.2") does not satisfy
// TerraformVersion, and nil when it does or when no constraint is set.
func (r *Repo) CheckTerraformVersion(v string) error {
	if r.TerraformVersion == "" {
		return nil
	}
	c, err := version.NewConstraint(r.TerraformVersion)
	if err != nil {
		return planbot.Errorf(planbot.EINVALID, "%s: invalid terraform_version %q", RepoFile, r.TerraformVersion)
	}
	tv, err := version.NewVersion(v)
	if err != nil {
		return fmt.Errorf("check terraform version: parse %q: %w", v, err)
	}
	if !c.Check(tv) {
		return planbot.Errorf(planbot.EINVALID, "terraform %s does not satisfy terraform_version %q of %s", tv, r.TerraformVersion, RepoFile)
	}
	return nil
}
