package githubapp

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
)

// Installations returns the IDs of the App's installations.
func (a *App) Installations(ctx context.Context) ([]int64, error) {
	gh := a.newGitHub(a.appsTr)
	opt := &github.ListOptions{}
	return allPages("list installations", opt, func() ([]*github.Installation, *github.Response, error) {
		return gh.Apps.ListInstallations(ctx, opt)
	}, (*github.Installation).GetID)
}

// Repositories lists the repositories the installation reaches.
func (c *Client) Repositories(ctx context.Context, installation int64) ([]planbot.Repository, error) {
	opt := &github.ListOptions{}
	return allPages("list installation repositories", opt, func() ([]*github.Repository, *github.Response, error) {
		list, resp, err := c.gh.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, resp, err
		}
		return list.Repositories, resp, nil
	}, func(r *github.Repository) planbot.Repository {
		return planbot.Repository{Repo: planbot.Repo{Owner: r.GetOwner().GetLogin(), Name: r.GetName()}, Installation: installation, CloneURL: r.GetCloneURL(), DefaultBranch: r.GetDefaultBranch()}
	})
}

// BranchSHA returns the commit a branch points at.
func (c *Client) BranchSHA(ctx context.Context, repo planbot.Repo, branch string) (string, error) {
	ref, resp, err := c.gh.Git.GetRef(ctx, repo.Owner, repo.Name, "heads/"+branch)
	if err != nil {
		return "", wrap(fmt.Sprintf("get branch %s of %s", branch, repo), resp, err)
	}
	return ref.GetObject().GetSHA(), nil
}

func convertIssue(is *github.Issue) planbot.Issue {
	out := planbot.Issue{Number: is.GetNumber(), Title: is.GetTitle(), Body: is.GetBody(), State: is.GetState(),
		ClosedBy: is.GetClosedBy().GetLogin(), HTMLURL: is.GetHTMLURL()}
	for _, l := range is.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// Issues lists the issues of a repository that carry label, open and
// closed, newest first. Pull requests are left out.
func (c *Client) Issues(ctx context.Context, repo planbot.Repo, label string) ([]planbot.Issue, error) {
	opt := &github.IssueListByRepoOptions{State: "all", Labels: []string{label}}
	return allPages(fmt.Sprintf("list issues of %s", repo), &opt.ListOptions, func() ([]*github.Issue, *github.Response, error) {
		list, resp, err := c.gh.Issues.ListByRepo(ctx, repo.Owner, repo.Name, opt)
		return slices.DeleteFunc(list, (*github.Issue).IsPullRequest), resp, err
	}, convertIssue)
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, repo planbot.Repo, title, body string, labels []string) (planbot.Issue, error) {
	if c.dryRun {
		c.logger.Info("dry run: create issue", "repo", repo.String(), "title", title)
		return planbot.Issue{Title: title, Body: body, State: "open", Labels: labels}, nil
	}
	is, resp, err := c.gh.Issues.Create(ctx, repo.Owner, repo.Name, &github.IssueRequest{Title: &title, Body: &body, Labels: &labels})
	if err != nil {
		return planbot.Issue{}, wrap(fmt.Sprintf("create issue in %s", repo), resp, err)
	}
	return convertIssue(is), nil
}

// EditIssue changes an issue's body or state.
func (c *Client) EditIssue(ctx context.Context, repo planbot.Repo, number int, e planbot.IssueEdit) error {
	if c.dryRun {
		c.logger.Info("dry run: edit issue", "repo", repo.String(), "issue", number, "state", e.State)
		return nil
	}
	req := &github.IssueRequest{}
	if e.Body != "" {
		req.Body = &e.Body
	}
	if e.State != "" {
		req.State = &e.State
	}
	if e.StateReason != "" {
		req.StateReason = &e.StateReason
	}
	_, resp, err := c.gh.Issues.Edit(ctx, repo.Owner, repo.Name, number, req)
	return wrap(fmt.Sprintf("edit issue %s#%d", repo, number), resp, err)
}

// EnsureLabel creates a label unless the repository has it.
func (c *Client) EnsureLabel(ctx context.Context, repo planbot.Repo, name, color, description string) error {
	_, resp, err := c.gh.Issues.GetLabel(ctx, repo.Owner, repo.Name, name)
	if err == nil {
		return nil
	}
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		return wrap(fmt.Sprintf("get label %q of %s", name, repo), resp, err)
	}
	if c.dryRun {
		c.logger.Info("dry run: create label", "repo", repo.String(), "label", name)
		return nil
	}
	_, resp, err = c.gh.Issues.CreateLabel(ctx, repo.Owner, repo.Name, &github.Label{Name: &name, Color: &color, Description: &description})
	if resp != nil && resp.StatusCode == http.StatusUnprocessableEntity {
		return nil // created meanwhile by another replica
	}
	return wrap(fmt.Sprintf("create label %q in %s", name, repo), resp, err)
}
