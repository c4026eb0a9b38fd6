// Package driftcmd is `planbot drift`: one drift pass now. Against GitHub
// it runs the server's pass (the Pass it is given) and prints a table of
// what it found; with --local it checks a local checkout with drift.Local
// and prints the issue bodies a pass would write.
//
// The exit status follows terraform plan -detailed-exitcode: 0 when no
// project drifts, 2 when at least one drifts, 1 on an error, a failed
// plan included.
package driftcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/sandbox"
)

// Exit statuses.
const (
	ExitClean = 0 // no project drifts
	ExitError = 1 // a plan failed, a pass is running, or the flags are wrong
	ExitDrift = 2 // at least one project drifts
)

// Pass runs one pass against GitHub with the server's options (see
// server.Main.DriftPass).
type Pass func(ctx context.Context, o config.Server, w drift.Window) ([]drift.Summary, error)

// Main runs `planbot drift` with args and returns its exit status.
func Main(ctx context.Context, args []string, getenv func(string) string, pass Pass, stdout, stderr io.Writer) int {
	o, err := config.ParseDrift(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.WriteDriftUsage(stdout)
		return ExitClean
	}
	if err != nil {
		fmt.Fprintf(stderr, "planbot drift: %v\nRun \"planbot drift -h\" for every flag.\n", err)
		return ExitError
	}
	if o.Local {
		return local(ctx, o, stdout, stderr)
	}
	sums, err := pass(ctx, o.Server, drift.Window{Repo: o.Repo, Project: o.Project})
	if errors.Is(err, drift.ErrPassRunning) {
		fmt.Fprintln(stderr, "planbot drift: a drift pass is running (scheduled, or started by hand elsewhere); try again when it has finished")
		return ExitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "planbot drift: %s\n", planbot.ErrorMessage(err))
		return ExitError
	}
	if len(sums) == 0 {
		fmt.Fprintln(stdout, "No Terraform project was checked: no installed, allowlisted repository matched, or none has projects.")
		return ExitClean
	}
	WriteTable(stdout, sums)
	return exitStatus(sums)
}

// WriteTable writes one line per project: repository, project, whether
// it drifts (yes, no or failed), how many addresses its plan changes, and
// its issue.
func WriteTable(w io.Writer, sums []drift.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tPROJECT\tDRIFTING\tCHANGED\tISSUE")
	for _, s := range sums {
		issue := "-"
		switch {
		case s.URL != "":
			issue = fmt.Sprintf("#%d %s", s.Issue, s.URL)
		case s.Issue != 0:
			issue = fmt.Sprintf("#%d", s.Issue)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Repo, s.Project, drifting(s.Status), s.Changed, issue)
	}
	tw.Flush()
}

func drifting(status string) string {
	switch status {
	case "drift":
		return "yes"
	case "ok":
		return "no"
	}
	return "failed"
}

// exitStatus returns ExitError when a plan failed, else ExitDrift when a
// project drifts, else ExitClean.
func exitStatus(sums []drift.Summary) int {
	code := ExitClean
	for _, s := range sums {
		switch s.Status {
		case "error":
			return ExitError
		case "drift":
			code = ExitDrift
		}
	}
	return code
}

// local checks the checkout at o.Repo and prints the issue bodies.
func local(ctx context.Context, o config.DriftCommand, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "planbot drift: %s\n", planbot.ErrorMessage(err))
		return ExitError
	}
	def, others, err := terraform.FindBinaries(ctx, o.Server.TerraformBin)
	if err != nil {
		return fail(err)
	}
	sb, err := sandbox.New(sandbox.Best())
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "planbot-drift-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	l := &drift.Local{
		Terraform:   &terraform.Runner{Bin: def.Path, Engine: def.Engine, Others: others, PluginCacheDir: filepath.Join(work, "plugin-cache"), EnvAllowlist: o.Server.EnvAllowlist, Sandbox: sb},
		Parallelism: o.Server.Parallelism,
		Unsandboxed: !sb.Confined(),
		Logger:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	found, sha, err := l.Check(ctx, drift.LocalRequest{RepoDir: o.Repo, Ref: o.Ref, Project: o.Project, WorkDir: filepath.Join(work, "trees")})
	if err != nil {
		return fail(err)
	}
	return writeFindings(stdout, found, sha)
}

// writeFindings prints the issue of every project that drifts or fails,
// each headed by its title, or says that nothing drifts.
func writeFindings(w io.Writer, found []drift.Finding, sha string) int {
	sums := make([]drift.Summary, 0, len(found))
	printed := 0
	for _, f := range found {
		sums = append(sums, f.Summary)
		if len(f.Parts) == 0 {
			continue
		}
		if printed > 0 {
			fmt.Fprint(w, "\n\n---\n\n")
		}
		printed++
		repo, _ := planbot.ParseRepo(f.Repo)
		fmt.Fprintf(w, "# %s\n\n", drift.Title(repo, f.Project))
		for i, p := range f.Parts {
			if i > 0 {
				fmt.Fprint(w, "\n\n---\n\n")
			}
			fmt.Fprint(w, p)
		}
		fmt.Fprintln(w)
	}
	switch {
	case len(found) == 0:
		fmt.Fprintf(w, "No Terraform project to check at %s.\n", short(sha))
	case printed == 0:
		what := fmt.Sprintf("all %d Terraform projects match", len(found))
		if len(found) == 1 {
			what = "the Terraform project " + found[0].Project + " matches"
		}
		fmt.Fprintf(w, "No drift: %s %s.\n", what, short(sha))
	}
	return exitStatus(sums)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
