package githubapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
)

// MaxFiles is the most files GitHub lists for one pull request.
const MaxFiles = 3000

// Client calls GitHub as one installation of the App.
type Client struct {
	gh     *github.Client
	tr     *ghinstallation.Transport
	logger *slog.Logger
	dryRun bool
}

// Token returns a current installation access token, for git over HTTPS.
func (c *Client) Token(ctx context.Context) (string, error) {
	tok, err := c.tr.Token(ctx)
	if err != nil {
		if rl := rateLimited(nil, err); rl != nil {
			err = rl
		}
		return "", fmt.Errorf("installation token: %w", err)
	}
	return tok, nil
}

// wrap names the operation and maps GitHub's status codes to planbot error
// codes.
func wrap(op string, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	code := planbot.EINTERNAL
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	if rl := rateLimited(hr, err); rl != nil {
		// Transient: the job waits until the limit ends.
		return &planbot.Error{Code: planbot.EINTERNAL, Message: op + ": GitHub rate limit", Err: rl}
	}
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusNotFound:
			code = planbot.ENOTFOUND
		case http.StatusUnauthorized, http.StatusForbidden:
			code = planbot.EUNAUTHORIZED
		case http.StatusConflict:
			code = planbot.ECONFLICT
		case http.StatusUnprocessableEntity, http.StatusMethodNotAllowed:
			code = planbot.EINVALID
		}
	}
	msg := op + " failed"
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		msg = op + ": " + er.Message
	}
	return &planbot.Error{Code: code, Message: msg, Err: err}
}

// PullRequest reads a pull request.
func (c *Client) PullRequest(ctx context.Context, repo planbot.Repo, number int) (planbot.PullRequest, error) {
	pr, resp, err := c.gh.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
	if err != nil {
		return planbot.PullRequest{}, wrap(fmt.Sprintf("get pull request %s#%d", repo, number), resp, err)
	}
	return event.PullRequest(repo, pr), nil
}

// ChangedFiles lists every file of a pull request, following pagination.
// It fails closed when GitHub's list is truncated (more than MaxFiles).
func (c *Client) ChangedFiles(ctx context.Context, repo planbot.Repo, number int) ([]planbot.ChangedFile, error) {
	opt := &github.ListOptions{}
	out, err := allPages(fmt.Sprintf("list files of %s#%d", repo, number), opt, func() ([]*github.CommitFile, *github.Response, error) {
		return c.gh.PullRequests.ListFiles(ctx, repo.Owner, repo.Name, number, opt)
	}, func(f *github.CommitFile) planbot.ChangedFile {
		return planbot.ChangedFile{Path: f.GetFilename(), PreviousPath: f.GetPreviousFilename(), Status: f.GetStatus()}
	})
	if err != nil {
		return nil, err
	}
	if len(out) >= MaxFiles {
		return nil, planbot.Errorf(planbot.EINVALID, "pull request %s#%d changes %d or more files; GitHub lists at most %d, so planbot cannot see every change", repo, number, MaxFiles, MaxFiles)
	}
	return out, nil
}

// ListComments lists the conversation comments of an issue or PR.
func (c *Client) ListComments(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Comment, error) {
	opt := &github.IssueListCommentsOptions{}
	return allPages(fmt.Sprintf("list comments of %s#%d", repo, number), &opt.ListOptions, func() ([]*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.ListComments(ctx, repo.Owner, repo.Name, number, opt)
	}, convertComment)
}

func convertComment(cm *github.IssueComment) planbot.Comment {
	return planbot.Comment{ID: cm.GetID(), NodeID: cm.GetNodeID(), User: cm.GetUser().GetLogin(), Body: cm.GetBody()}
}

// CreateComment posts a comment on an issue or PR.
func (c *Client) CreateComment(ctx context.Context, repo planbot.Repo, number int, body string) (planbot.Comment, error) {
	if c.dryRun {
		c.logger.Info("dry run: create comment", "repo", repo.String(), "pr", number, "runes", utf8.RuneCountInString(body))
		return planbot.Comment{Body: body}, nil
	}
	cm, resp, err := c.gh.Issues.CreateComment(ctx, repo.Owner, repo.Name, number, &github.IssueComment{Body: &body})
	if err != nil {
		return planbot.Comment{}, wrap(fmt.Sprintf("create comment on %s#%d", repo, number), resp, err)
	}
	return convertComment(cm), nil
}

// EditComment replaces a comment's body.
func (c *Client) EditComment(ctx context.Context, repo planbot.Repo, id int64, body string) error {
	if c.dryRun {
		c.logger.Info("dry run: edit comment", "repo", repo.String(), "comment", id)
		return nil
	}
	_, resp, err := c.gh.Issues.EditComment(ctx, repo.Owner, repo.Name, id, &github.IssueComment{Body: &body})
	return wrap(fmt.Sprintf("edit comment %d on %s", id, repo), resp, err)
}

// React adds a reaction ("eyes", "+1", ...) to an issue comment.
func (c *Client) React(ctx context.Context, repo planbot.Repo, commentID int64, content string) error {
	if c.dryRun {
		return nil
	}
	_, resp, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, repo.Owner, repo.Name, commentID, content)
	return wrap(fmt.Sprintf("react to comment %d on %s", commentID, repo), resp, err)
}

// SetStatus sets a commit status. The description is cut to GitHub's 140
// characters.
func (c *Client) SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error {
	if r := []rune(description); len(r) > 140 {
		description = string(r[:139]) + "…"
	}
	if c.dryRun {
		c.logger.Info("dry run: set status", "repo", repo.String(), "sha", sha, "context", context, "state", state)
		return nil
	}
	st := &github.RepoStatus{State: &state, Context: &context, Description: &description}
	if targetURL != "" {
		st.TargetURL = &targetURL
	}
	_, resp, err := c.gh.Repositories.CreateStatus(ctx, repo.Owner, repo.Name, sha, st)
	return wrap(fmt.Sprintf("set status %s on %s@%s", context, repo, sha), resp, err)
}

// ListReviews lists a PR's reviews in chronological order.
func (c *Client) ListReviews(ctx context.Context, repo planbot.Repo, number int) ([]planbot.Review, error) {
	opt := &github.ListOptions{}
	return allPages(fmt.Sprintf("list reviews of %s#%d", repo, number), opt, func() ([]*github.PullRequestReview, *github.Response, error) {
		return c.gh.PullRequests.ListReviews(ctx, repo.Owner, repo.Name, number, opt)
	}, func(r *github.PullRequestReview) planbot.Review {
		return planbot.Review{
			ID: r.GetID(), User: r.GetUser().GetLogin(), State: strings.ToUpper(r.GetState()),
			CommitID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().Time,
		}
	})
}

// Permission returns a user's legacy permission on a repository: admin,
// write, read or none. Unknown users have none.
func (c *Client) Permission(ctx context.Context, repo planbot.Repo, user string) (string, error) {
	p, resp, err := c.gh.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, user)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "none", nil
	}
	if err != nil {
		return "", wrap(fmt.Sprintf("get permission of %s on %s", user, repo), resp, err)
	}
	return p.GetPermission(), nil
}

// IsTeamMember reports whether user is an active member of org/team.
func (c *Client) IsTeamMember(ctx context.Context, org, team, user string) (bool, error) {
	m, resp, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, wrap(fmt.Sprintf("get membership of %s in %s/%s", user, org, team), resp, err)
	}
	return m.GetState() == "active", nil
}

// GetFile returns a file's content at ref. A missing file is an ENOTFOUND
// error.
func (c *Client) GetFile(ctx context.Context, repo planbot.Repo, path, ref string) ([]byte, error) {
	fc, _, resp, err := c.gh.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, wrap(fmt.Sprintf("get %s at %s in %s", path, ref, repo), resp, err)
	}
	if fc == nil {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "%s at %s in %s is a directory", path, ref, repo)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s at %s in %s: %w", path, ref, repo, err)
	}
	return []byte(s), nil
}

// Merge merges a PR if its head is still sha and returns the merge commit.
// method is merge, squash or rebase ("" sends none, and GitHub makes a
// merge commit; planbot always sends one, see DefaultMergeMethod). In
// dry-run mode it logs and returns an error wrapping planbot.ErrDryRun:
// nothing was merged, and no caller may take it for a merge.
func (c *Client) Merge(ctx context.Context, repo planbot.Repo, number int, sha, method, title string) (string, error) {
	if c.dryRun {
		c.logger.Info("dry run: merge", "repo", repo.String(), "pr", number, "sha", sha, "method", method)
		return "", fmt.Errorf("merge %s#%d: %w", repo, number, planbot.ErrDryRun)
	}
	res, resp, err := c.gh.PullRequests.Merge(ctx, repo.Owner, repo.Name, number, "", &github.PullRequestOptions{
		SHA: sha, MergeMethod: method, CommitTitle: title,
	})
	if err != nil {
		return "", wrap(fmt.Sprintf("merge %s#%d", repo, number), resp, err)
	}
	if !res.GetMerged() {
		return "", planbot.Errorf(planbot.ECONFLICT, "merge %s#%d: %s", repo, number, res.GetMessage())
	}
	return res.GetSHA(), nil
}

// DefaultMergeMethod returns the first merge method the repository's
// settings allow, in the order merge, squash, rebase.
func (c *Client) DefaultMergeMethod(ctx context.Context, repo planbot.Repo) (string, error) {
	r, resp, err := c.gh.Repositories.Get(ctx, repo.Owner, repo.Name)
	if err != nil {
		return "", wrap("get repository "+repo.String(), resp, err)
	}
	switch {
	case r.GetAllowMergeCommit():
		return "merge", nil
	case r.GetAllowSquashMerge():
		return "squash", nil
	case r.GetAllowRebaseMerge():
		return "rebase", nil
	}
	return "", planbot.Errorf(planbot.EINVALID, "%s allows no merge method", repo)
}
