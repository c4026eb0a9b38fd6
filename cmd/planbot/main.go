// Command planbot plans and applies Terraform and Kustomize changes of
// GitHub pull requests. It only wires: every subcommand lives in a package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/planbot/planbot/audit/auditcmd"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/drift/driftcmd"
	"github.com/planbot/planbot/release/releasecmd"
	"github.com/planbot/planbot/sandbox"
	"github.com/planbot/planbot/server"
	"github.com/planbot/planbot/setup"
)

const usage = `planbot plans and applies infrastructure pull requests.

Usage:
  planbot setup [flags]         create the GitHub App from a manifest and write its secrets
  planbot server [flags]        run the GitHub App (webhooks, queue, workers)
  planbot plan [flags]          plan a local change and print the PR comment
  planbot drift [flags]         run one drift pass now (--local: check a local checkout)
  planbot owners [flags] PATH…  show which CODEOWNERS rule owns each path
  planbot audit [flags]         list, export (--json) or verify (--verify) the audit log
  planbot release [flags]       ask a planbot server to release images to an environment (opens a PR)
  planbot version               show planbot's version and commit, and the Go, terraform and OpenTofu versions
  planbot help                  show this help

Run "planbot COMMAND -h" for a command's flags.
`

func main() {
	// When planbot was started as the sandbox helper of a terraform run,
	// this confines the process and becomes terraform; it never returns.
	sandbox.RunHelper()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "setup":
		return setup.Main(ctx, args[1:], stdout, stderr)
	case "server":
		return runServer(ctx, args[1:], stdout, stderr)
	case "plan":
		return runPlan(ctx, args[1:], stdout, stderr)
	case "drift":
		return driftcmd.Main(ctx, args[1:], os.Getenv, driftPass(stderr), stdout, stderr)
	case "owners":
		return codeowners.Main(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditcmd.Main(ctx, args[1:], openAuditStore(stderr), stdout, stderr)
	case "release":
		return releasecmd.Main(ctx, args[1:], os.Getenv, &http.Client{Timeout: time.Minute}, stdout, stderr)
	case "version", "--version":
		return runVersion(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "planbot: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := config.ParseServer(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.WriteServerUsage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "planbot server: %v\nRun \"planbot server -h\" for every flag.\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	m := &server.Main{Options: opts, Logger: logger}
	defer m.Close()
	if err := m.Run(ctx); err != nil {
		logger.Error("planbot server failed", "err", err)
		return 1
	}
	return 0
}

// openAuditStore returns the opener `planbot audit` reads the log through:
// the server's store, logging warnings to stderr.
func openAuditStore(stderr io.Writer) auditcmd.Opener {
	return func(ctx context.Context, database string) (auditcmd.Lister, func() error, error) {
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		st, err := server.OpenStore(ctx, database, logger)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
}

// driftPass returns the pass `planbot drift` runs against GitHub: the
// server's, logging to stderr.
func driftPass(stderr io.Writer) driftcmd.Pass {
	return func(ctx context.Context, o config.Server, w drift.Window) ([]drift.Summary, error) {
		m := &server.Main{Options: o, Logger: slog.New(slog.NewTextHandler(stderr, nil))}
		defer m.Close()
		return m.DriftPass(ctx, w)
	}
}
