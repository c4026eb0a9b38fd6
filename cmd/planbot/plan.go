package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/planbot/planbot/examples"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/sandbox"
)

// localSandbox is the same sandbox as the server's when this kernel has
// Landlock; otherwise plans run unconfined and the comment's footer says
// so.
func localSandbox() (*sandbox.Sandbox, error) {
	mode := sandbox.ModeLandlock
	if sandbox.Supported() != nil {
		mode = sandbox.ModeOff
	}
	return sandbox.New(mode)
}

// runPlan implements `planbot plan`: plan a local change and print the PR
// comment it would get.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("planbot plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "local git repository")
	base := fs.String("base", "origin/main", "base revision (the PR's target)")
	head := fs.String("head", "HEAD", "head revision (the PR's change)")
	out := fs.String("out", "", "write the comment to this file instead of stdout")
	example := fs.Bool("example", false, "plan a scripted change to planbot's embedded example repository")
	tfBin := fs.String("terraform-bin", os.Getenv("PLANBOT_TERRAFORM_BIN"), "terraform binary (default: found on PATH)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "planbot plan: unexpected arguments %q\n", fs.Args())
		return 2
	}
	work, err := os.MkdirTemp("", "planbot-plan-")
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	defer os.RemoveAll(work)
	if *example {
		dir := filepath.Join(work, "example")
		if err := makeExample(ctx, dir); err != nil {
			fmt.Fprintf(stderr, "planbot plan: create the example repository: %v\n", err)
			return 1
		}
		*repo, *base, *head = dir, "main", "change"
	}
	bin, err := terraform.FindBinary(ctx, *tfBin)
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	renders, err := kustomize.NewCache("")
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	sb, err := localSandbox()
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	l := &runner.Local{
		Terraform:   &terraform.Runner{Bin: bin, PluginCacheDir: filepath.Join(work, "plugin-cache"), Sandbox: sb},
		Kustomize:   kustomize.Options{Cache: renders},
		Parallelism: 4,
		Unsandboxed: !sb.Confined(),
	}
	parts, err := l.Plan(ctx, runner.LocalRequest{RepoDir: *repo, Base: *base, Head: *head, WorkDir: filepath.Join(work, "trees")})
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "planbot plan: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	for i, p := range parts {
		if i > 0 {
			fmt.Fprint(w, "\n\n---\n\n")
		}
		fmt.Fprint(w, p)
	}
	fmt.Fprintln(w)
	return 0
}

// makeExample writes the embedded example into dir as a git repository with
// branch main and, on top of it, branch change holding the scripted change.
func makeExample(ctx context.Context, dir string) error {
	sub, err := fs.Sub(examples.Infra, "infra")
	if err != nil {
		return err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return err
	}
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "user.name=planbot", "-c", "user.email=planbot@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := git("add", "-A"); err != nil {
		return err
	}
	if err := git("commit", "-q", "-m", "example infrastructure"); err != nil {
		return err
	}
	if err := git("checkout", "-q", "-b", "change"); err != nil {
		return err
	}
	for name, content := range examples.Change {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := git("commit", "-q", "-am", "scale web and add a DNS record"); err != nil {
		return err
	}
	return nil
}
