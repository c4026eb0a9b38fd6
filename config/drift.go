package config

import (
	"flag"
	"io"
	"strings"
)

// DriftCommand is the configuration of `planbot drift`: one drift pass now,
// against GitHub with the server's options, or with Local against a local
// checkout.
type DriftCommand struct {
	// Server holds the options `planbot drift` shares with `planbot
	// server` (driftShared), with their flags and environment twins.
	Server Server
	// Local checks the checkout at Repo instead of GitHub.
	Local bool
	// Repo narrows a GitHub pass to one repository ("owner/name"); with
	// Local it is the checkout's directory.
	Repo string
	// Project narrows the pass to the projects of that name.
	Project string
	// Ref is the revision Local checks; empty means the checkout's HEAD.
	Ref string
}

// driftShared names the flags `planbot drift` takes from `planbot server`.
var driftShared = []string{
	"data-dir", "github-api-url", "github-app-id", "github-app-key-file", "database",
	"repo-allowlist", "terraform-bin", "parallelism", "job-lease", "terraform-env-allowlist",
	"sandbox", "credentials-dir", "dry-run",
}

// driftSynopsis and driftAbout head `planbot drift -h`.
const (
	driftSynopsis = "planbot drift [--repo owner/name] [--project P] [flags] | --local [--repo DIR] [--ref REV] [--project P]"
	driftAbout    = `Runs one drift pass now, against GitHub, as the server's scheduled pass
does: it writes the same issues, and waits for no schedule. It takes the
same lease in the store, so it never overlaps a scheduled pass; while one
runs it says so and exits 1. It prints a table of what it found.

With --local it plans the checkout at --repo (its HEAD, or --ref) without
GitHub or the store, and prints the issue bodies a pass would write.

Exit status: 0 no project drifts, 2 at least one drifts, 1 an error (a
plan failed, a pass is running, or the flags are wrong), as terraform plan
-detailed-exitcode. The flags shared with planbot server have the same
environment twins.`
)

// flags returns the flag set of `planbot drift`, bound to o.
func (o *DriftCommand) flags(sandboxMode *string) *flag.FlagSet {
	all := o.Server.flags(sandboxMode)
	fs := NewFlagSet("planbot drift")
	fs.BoolVar(&o.Local, "local", false, "check a local checkout instead of GitHub, and print the issue bodies")
	fs.StringVar(&o.Repo, "repo", "", "owner/name: check only this repository; with --local, the checkout `DIR` (default .)")
	fs.StringVar(&o.Project, "project", "", "check only the projects of this `NAME`")
	fs.StringVar(&o.Ref, "ref", "", "with --local, the revision `REV` to check (default: the checkout's HEAD)")
	for _, name := range driftShared {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
	}
	return fs
}

// ParseDrift parses the flags of `planbot drift`. A flag that is not given
// takes its environment twin, read through getenv, and then its default.
// Every problem is reported at once, one per line; -h returns
// flag.ErrHelp.
func ParseDrift(args []string, getenv func(string) string) (DriftCommand, error) {
	var o DriftCommand
	var p problems
	if err := o.Server.parseShared(o.flags, args, getenv, &p); err != nil {
		return DriftCommand{}, err
	}
	o.Server.noWebhooks = true
	if o.Local {
		if o.Repo == "" {
			o.Repo = "."
		}
		p.check(o.Server.Parallelism < 1, "--parallelism must be at least 1")
	} else {
		p.check(o.Ref != "", "--ref needs --local: a pass against GitHub checks each default branch's head")
		p.check(o.Repo != "" && strings.Count(o.Repo, "/") != 1, "--repo must be owner/name, not %q (a local checkout needs --local)", o.Repo)
		o.Server.validate(&p)
	}
	if err := p.err(); err != nil {
		return DriftCommand{}, err
	}
	return o, nil
}

// WriteDriftUsage writes the help of `planbot drift`.
func WriteDriftUsage(w io.Writer) {
	var o DriftCommand
	var mode string
	WriteUsage(w, driftSynopsis, driftAbout, o.flags(&mode), true)
}
