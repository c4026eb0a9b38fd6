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
	"strings"
	"sync/atomic"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"

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
	return sandbox.New(sandbox.Best())
}

// planAbout heads `planbot plan -h`.
const planAbout = `Plans a change in a local git repository, the commits between --base and
--head as in a pull request, and prints the PR comment planbot would post.
--example plans a scripted change to planbot's embedded example repository.
Terraform projects need terraform (` + terraform.SupportedVersions + `), or
OpenTofu (` + terraform.SupportedOpenTofuVersions + `) for those that
.planbot.yaml gives engine: tofu, and for all with --terraform-bin tofu.
Kustomize overlays are rendered inside planbot.`

// runPlan implements `planbot plan`: plan a local change and print the PR
// comment it would get.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("planbot plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	repo := fs.String("repo", ".", "the git repository `DIR` to plan")
	base := fs.String("base", "origin/main", "base revision `REV` (the PR's target)")
	head := fs.String("head", "HEAD", "head revision `REV` (the PR's change)")
	out := fs.String("out", "", "write the comment to `FILE` instead of stdout")
	example := fs.Bool("example", false, "plan a scripted change to planbot's embedded example repository")
	tfBin := fs.String("terraform-bin", "", "terraform or tofu binary `PATH` that plans the projects naming no engine (default: terraform on PATH)")
	usage := func(w io.Writer) {
		config.WriteUsage(w, "planbot plan [--repo DIR] [--base REV] [--head REV] [--out FILE] | --example", planAbout, fs, true)
	}
	if code, ok := config.ParseCommand(fs, args, usage, stdout, stderr); !ok {
		return code
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
	if err := checkRepo(ctx, *repo); err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	missing := &missingTerraform{}
	l, err := localRunner(ctx, *tfBin, work, missing, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	parts, err := l.Plan(ctx, runner.LocalRequest{RepoDir: *repo, Base: *base, Head: *head, WorkDir: filepath.Join(work, "trees")})
	if err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	if err := writeParts(stdout, *out, parts); err != nil {
		fmt.Fprintf(stderr, "planbot plan: %v\n", err)
		return 1
	}
	if missing.used.Load() {
		return 1 // the comment is printed, but its terraform projects were not planned
	}
	return 0
}

// writeParts writes the comment's parts to file, or to stdout when file
// is empty, separated as GitHub would show consecutive comments.
func writeParts(stdout io.Writer, file string, parts []string) error {
	w := stdout
	if file != "" {
		f, err := os.Create(file)
		if err != nil {
			return err
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
	_, err := fmt.Fprintln(w)
	return err
}

// localRunner returns the local planner: terraform in the same sandbox as
// the server's (or missing, when there is no terraform binary: Kustomize
// overlays still render and terraform projects say why they were not
// planned), Kustomize in process.
func localRunner(ctx context.Context, tfBin, work string, missing *missingTerraform, stderr io.Writer) (*runner.Local, error) {
	renders, err := kustomize.NewCache("")
	if err != nil {
		return nil, err
	}
	sb, err := localSandbox()
	if err != nil {
		return nil, err
	}
	var tf runner.Terraform = missing
	if def, others, err := terraform.FindBinaries(ctx, tfBin); err != nil {
		fmt.Fprintf(stderr, "planbot plan: %s\n", planbot.ErrorMessage(err))
		missing.err = err
	} else {
		tf = &terraform.Runner{Bin: def.Path, Engine: def.Engine, Others: others, PluginCacheDir: filepath.Join(work, "plugin-cache"), Sandbox: sb}
	}
	return &runner.Local{
		Terraform:   tf,
		Kustomize:   kustomize.Options{Cache: renders},
		Parallelism: 4,
		Unsandboxed: !sb.Confined(),
	}, nil
}

// checkRepo reports an error unless dir is inside a git work tree, so that
// a wrong --repo is named before anything else is looked for.
func checkRepo(ctx context.Context, dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a git repository: no such directory (--repo names the repository to plan)", dir)
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--is-inside-work-tree")
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		return fmt.Errorf("%s is not a git repository (--repo names the repository to plan; --example plans planbot's own example)", dir)
	}
	return nil
}

// missingTerraform stands in for terraform when no binary was found: every
// terraform project fails with err, which says how to get terraform.
type missingTerraform struct {
	err  error
	used atomic.Bool // used reports whether a terraform project needed it
}

func (m *missingTerraform) Plan(context.Context, string, string, ...terraform.RunOption) (planbot.Result, error) {
	m.used.Store(true)
	return planbot.Result{}, m.err
}

func (m *missingTerraform) PlanDestroy(context.Context, string, string, ...terraform.RunOption) (planbot.Result, error) {
	m.used.Store(true)
	return planbot.Result{}, m.err
}

func (m *missingTerraform) Version(context.Context, ...terraform.RunOption) (string, error) {
	return "", m.err
}

func (m *missingTerraform) EngineOf(e planbot.Engine) planbot.Engine { return e }

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
	change, err := examples.Change()
	if err != nil {
		return err
	}
	for name, content := range change {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := git("commit", "-q", "-am", "scale web and add a DNS record"); err != nil {
		return err
	}
	return nil
}
