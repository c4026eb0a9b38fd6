package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/runner/terraform"
)

// buildVersion describes the binary from its build information: the module
// version and the commit it was built from, with its time and whether the
// work tree had changes.
func buildVersion(info *debug.BuildInfo, ok bool) (version, commit string) {
	if !ok {
		return "unknown", "unknown"
	}
	version = info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	commit = settings["vcs.revision"]
	if commit == "" {
		return version, "unknown (built without version control information)"
	}
	if t := settings["vcs.time"]; t != "" {
		commit += " (" + t + ")"
	}
	if settings["vcs.modified"] == "true" {
		commit += ", with uncommitted changes"
	}
	return version, commit
}

// runVersion implements `planbot version`.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("planbot version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	tfBin := fs.String("terraform-bin", os.Getenv("PLANBOT_TERRAFORM_BIN"), "terraform binary `PATH` whose version is shown (default: found on PATH; env PLANBOT_TERRAFORM_BIN)")
	usage := func(w io.Writer) {
		config.WriteUsage(w, "planbot version [--terraform-bin PATH]", "Prints planbot's version and commit, the Go version it was built with, and\nthe version of the terraform it would run.", fs, false)
	}
	if code, ok := config.ParseCommand(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	version, commit := buildVersion(debug.ReadBuildInfo())
	fmt.Fprintf(stdout, "planbot %s\ncommit: %s\ngo: %s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	bin, err := terraform.FindBinary(ctx, *tfBin)
	if err != nil {
		fmt.Fprintf(stdout, "terraform: not found (supported: %s)\n", terraform.SupportedVersions)
		return 0
	}
	tv, err := (&terraform.Runner{Bin: bin}).Version(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "terraform: %s, version unknown: %v\n", bin, err)
		return 0
	}
	fmt.Fprintf(stdout, "terraform: %s (%s; supported: %s)\n", tv, bin, terraform.SupportedVersions)
	return 0
}
