package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/project"
	"github.com/planbot/planbot/workspaces"
)

// FileGetter reads a file of a repository at a commit.
type FileGetter interface {
	GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error)
}

// baseFiles reads files of fetched commits from the repository cache, as
// a FileGetter: planbot reads .planbot.yaml and CODEOWNERS from the git
// objects it fetches anyway, not through GitHub's contents API. Callers
// pass the PR's base SHA as ref, never its head.
type baseFiles struct {
	ws interface {
		ReadFile(ctx context.Context, repo planbot.Repo, sha, path string) ([]byte, error)
		filesReader
	}
}

// baseFilePaths are the files planbot reads from a base commit:
// .planbot.yaml and every place a CODEOWNERS file may be.
var baseFilePaths = append([]string{config.RepoFile}, codeowners.Locations()...)

// filesReader reads several files of a commit with one git process, and
// remembers them (workspaces.Manager.ReadFiles).
type filesReader interface {
	ReadFiles(ctx context.Context, repo planbot.Repo, sha string, paths ...string) (map[string][]byte, error)
}

// GetFile implements FileGetter. A read of one of baseFilePaths reads them
// all at once, so that a job's reads of .planbot.yaml and CODEOWNERS cost
// one git process, and none for a commit read before.
func (b baseFiles) GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error) {
	if !slices.Contains(baseFilePaths, path) {
		return b.ws.ReadFile(ctx, repo, ref, path)
	}
	files, err := b.ws.ReadFiles(ctx, repo, ref, baseFilePaths...)
	if err != nil {
		return nil, err
	}
	return workspaces.FileIn(files, ref, path)
}

// repoConfig reads .planbot.yaml from the PR's base commit, never from its
// head: a PR must not change the rules it is judged by. A missing file
// means the defaults; an invalid one is an EINVALID error whose message
// lists every problem with its line.
func repoConfig(ctx context.Context, gh FileGetter, pr planbot.PullRequest) (*config.Repo, error) {
	data, err := gh.GetFile(ctx, pr.Repo, config.RepoFile, pr.BaseSHA)
	if planbot.ErrorCode(err) == planbot.ENOTFOUND {
		return config.DefaultRepo(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", config.RepoFile, err)
	}
	return config.ParseRepo(data)
}

// selectProjects returns the projects a change touches: the ones the repo
// config declares, or autodetected ones. A declared Terraform project whose
// configuration exists on base but not on head is deleted (see project.Detect).
func selectProjects(cfg *config.Repo, baseRoot, headRoot string, files []planbot.ChangedFile) ([]planbot.Project, []string, error) {
	if cfg == nil || !cfg.Explicit() {
		projects, notes, err := project.Detect(baseRoot, headRoot, files)
		if cfg != nil {
			cfg.SetEngines(projects)
		}
		return projects, notes, err
	}
	if err := cfg.ResolveKinds(os.DirFS(headRoot), os.DirFS(baseRoot)); err != nil {
		return nil, nil, err
	}
	projects := cfg.Match(project.ChangedPaths(files))
	for i, prj := range projects {
		if prj.Kind == planbot.KindTerraform && !hasConfig(headRoot, prj.Dir) && hasConfig(baseRoot, prj.Dir) {
			projects[i].Deleted = true
		}
	}
	cfg.SetEngines(projects)
	return projects, nil, nil
}

// hasConfig reports whether dir, relative to the tree at root, holds a
// Terraform configuration (*.tf, *.tf.json, *.tofu or *.tofu.json files).
func hasConfig(root, dir string) bool {
	d, err := workspaces.SafeJoin(root, dir)
	if err != nil {
		return false
	}
	for _, pattern := range []string{"*.tf", "*.tf.json", "*.tofu", "*.tofu.json"} {
		if m, _ := filepath.Glob(filepath.Join(d, pattern)); len(m) > 0 {
			return true
		}
	}
	return false
}
