package githubapp

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
)

// DefaultBranch returns the name of a repository's default branch.
func (c *Client) DefaultBranch(ctx context.Context, repo planbot.Repo) (string, error) {
	r, resp, err := c.gh.Repositories.Get(ctx, repo.Owner, repo.Name)
	if err != nil {
		return "", wrap("get repository "+repo.String(), resp, err)
	}
	return r.GetDefaultBranch(), nil
}

// CommitFiles writes files (path to content) as a commit on top of the
// commit parent, through the Git Data API (blobs, a tree on the parent's,
// a commit), as the App, and returns the new commit's SHA. No ref moves.
// In dry-run mode it writes nothing and returns an error wrapping
// planbot.ErrDryRun.
func (c *Client) CommitFiles(ctx context.Context, repo planbot.Repo, parent string, files map[string][]byte, message string) (string, error) {
	if c.dryRun {
		c.logger.Info("dry run: commit", "repo", repo.String(), "parent", parent, "files", len(files))
		return "", fmt.Errorf("commit to %s: %w", repo, planbot.ErrDryRun)
	}
	base, resp, err := c.gh.Git.GetCommit(ctx, repo.Owner, repo.Name, parent)
	if err != nil {
		return "", wrap(fmt.Sprintf("get commit %s of %s", parent, repo), resp, err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var entries []*github.TreeEntry
	for _, p := range paths {
		content := string(files[p])
		blob, resp, err := c.gh.Git.CreateBlob(ctx, repo.Owner, repo.Name, &github.Blob{Content: &content, Encoding: github.String("utf-8")})
		if err != nil {
			return "", wrap(fmt.Sprintf("create blob of %s in %s", p, repo), resp, err)
		}
		entries = append(entries, &github.TreeEntry{Path: github.String(p), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA})
	}
	tree, resp, err := c.gh.Git.CreateTree(ctx, repo.Owner, repo.Name, base.GetTree().GetSHA(), entries)
	if err != nil {
		return "", wrap("create tree in "+repo.String(), resp, err)
	}
	commit, resp, err := c.gh.Git.CreateCommit(ctx, repo.Owner, repo.Name, &github.Commit{
		Message: &message, Tree: &github.Tree{SHA: tree.SHA}, Parents: []*github.Commit{{SHA: &parent}},
	}, nil)
	if err != nil {
		return "", wrap("create commit in "+repo.String(), resp, err)
	}
	return commit.GetSHA(), nil
}

// SetBranch points branch at sha: it creates the branch, or moves it,
// forced, when it exists.
func (c *Client) SetBranch(ctx context.Context, repo planbot.Repo, branch, sha string) error {
	if c.dryRun {
		c.logger.Info("dry run: set branch", "repo", repo.String(), "branch", branch, "sha", sha)
		return fmt.Errorf("set branch %s of %s: %w", branch, repo, planbot.ErrDryRun)
	}
	ref := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: &sha}}
	_, resp, err := c.gh.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+branch)
	if resp != nil && resp.StatusCode == 404 {
		_, resp, err = c.gh.Git.CreateRef(ctx, repo.Owner, repo.Name, ref)
		return wrap(fmt.Sprintf("create branch %s of %s", branch, repo), resp, err)
	}
	if err != nil {
		return wrap(fmt.Sprintf("get branch %s of %s", branch, repo), resp, err)
	}
	_, resp, err = c.gh.Git.UpdateRef(ctx, repo.Owner, repo.Name, ref, true)
	return wrap(fmt.Sprintf("move branch %s of %s", branch, repo), resp, err)
}

// Pulls returns the pull requests whose head is branch of the repository
// itself, in state open, closed or all, newest first.
func (c *Client) Pulls(ctx context.Context, repo planbot.Repo, branch, state string) ([]planbot.PullRequest, error) {
	opt := &github.PullRequestListOptions{State: state, Head: repo.Owner + ":" + branch, Sort: "created", Direction: "desc"}
	return allPages(fmt.Sprintf("list pull requests of %s", branch), &opt.ListOptions, func() ([]*github.PullRequest, *github.Response, error) {
		return c.gh.PullRequests.List(ctx, repo.Owner, repo.Name, opt)
	}, func(pr *github.PullRequest) planbot.PullRequest { return event.PullRequest(repo, pr) })
}

// CreatePull opens a pull request from head to base as the App.
func (c *Client) CreatePull(ctx context.Context, repo planbot.Repo, title, head, base, body string) (planbot.PullRequest, error) {
	if c.dryRun {
		c.logger.Info("dry run: open pull request", "repo", repo.String(), "head", head, "base", base)
		return planbot.PullRequest{}, fmt.Errorf("open pull request in %s: %w", repo, planbot.ErrDryRun)
	}
	pr, resp, err := c.gh.PullRequests.Create(ctx, repo.Owner, repo.Name, &github.NewPullRequest{Title: &title, Head: &head, Base: &base, Body: &body})
	if err != nil {
		return planbot.PullRequest{}, wrap(fmt.Sprintf("open pull request %s in %s", head, repo), resp, err)
	}
	return event.PullRequest(repo, pr), nil
}

// ClosePull closes a pull request without merging it.
func (c *Client) ClosePull(ctx context.Context, repo planbot.Repo, number int) error {
	if c.dryRun {
		c.logger.Info("dry run: close pull request", "repo", repo.String(), "pr", number)
		return nil
	}
	_, resp, err := c.gh.PullRequests.Edit(ctx, repo.Owner, repo.Name, number, &github.PullRequest{State: github.String("closed")})
	return wrap(fmt.Sprintf("close %s#%d", repo, number), resp, err)
}

// CommentCommit comments on a commit.
func (c *Client) CommentCommit(ctx context.Context, repo planbot.Repo, sha, body string) error {
	if c.dryRun {
		c.logger.Info("dry run: comment on commit", "repo", repo.String(), "sha", sha)
		return nil
	}
	_, resp, err := c.gh.Repositories.CreateComment(ctx, repo.Owner, repo.Name, sha, &github.RepositoryComment{Body: &body})
	return wrap(fmt.Sprintf("comment on %s@%s", repo, sha), resp, err)
}

// IsAncestor reports whether the commit a is an ancestor of the commit b
// (or is b), by GitHub's compare of the two.
func (c *Client) IsAncestor(ctx context.Context, repo planbot.Repo, a, b string) (bool, error) {
	cmp, resp, err := c.gh.Repositories.CompareCommits(ctx, repo.Owner, repo.Name, a, b, &github.ListOptions{PerPage: 1})
	if err != nil {
		return false, wrap(fmt.Sprintf("compare %s...%s in %s", a, b, repo), resp, err)
	}
	switch cmp.GetStatus() {
	case "ahead", "identical":
		return true, nil
	}
	return false, nil
}

// RepoInstallation returns the id of the App's installation on a
// repository, or an ENOTFOUND error when the App is not installed there.
func (a *App) RepoInstallation(ctx context.Context, repo planbot.Repo) (int64, error) {
	in, resp, err := a.newGitHub(a.appsTr).Apps.FindRepositoryInstallation(ctx, repo.Owner, repo.Name)
	if err != nil {
		return 0, wrap("get the installation of "+repo.String(), resp, err)
	}
	return in.GetID(), nil
}
