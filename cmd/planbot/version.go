package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/planbot/planbot"
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
	tfBin := fs.String("terraform-bin", "", "terraform or tofu binary `PATH` that runs the projects naming no engine (default: terraform on PATH)")
	usage := func(w io.Writer) {
		config.WriteUsage(w, "planbot version [--terraform-bin PATH]", "Prints planbot's version and commit, the Go version it was built with, and\nthe versions of the terraform and OpenTofu binaries it would run.", fs, true)
	}
	if code, ok := config.ParseCommand(fs, args, usage, stdout, stderr); !ok {
		return code
	}
	version, commit := buildVersion(debug.ReadBuildInfo())
	fmt.Fprintf(stdout, "planbot %s\ncommit: %s\ngo: %s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	def, others, err := terraform.FindBinaries(ctx, *tfBin)
	if err != nil {
		fmt.Fprintf(stdout, "terraform: not found (%s)\n", planbot.ErrorMessage(err))
		return 0
	}
	r := &terraform.Runner{Bin: def.Path, Engine: def.Engine, Others: others}
	for _, e := range []planbot.Engine{def.Engine, otherEngine(def.Engine)} {
		_, found := others[e]
		if e != def.Engine && !found {
			fmt.Fprintf(stdout, "%s: not found on PATH (supported: %s)\n", e.Command(), terraform.Supported(e))
			continue
		}
		bin := def.Path
		if e != def.Engine {
			bin = others[e]
		}
		use := ""
		if e == def.Engine {
			use = "; runs projects that name no engine"
		}
		v, err := r.Version(ctx, terraform.UseEngine(e))
		if err != nil {
			fmt.Fprintf(stdout, "%s: %s, version unknown: %v\n", e.Command(), bin, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s (%s, %s; supported: %s%s)\n", e.Command(), v, e.Name(), bin, terraform.Supported(e), use)
	}
	return 0
}

// otherEngine returns the engine that is not e.
func otherEngine(e planbot.Engine) planbot.Engine {
	if e == planbot.EngineOpenTofu {
		return planbot.EngineTerraform
	}
	return planbot.EngineOpenTofu
}
