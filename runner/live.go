package runner

import (
	"context"
	"io"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/runner/terraform"
)

// LiveLog receives what terraform prints while a plan or an apply runs
// (package livelog keeps it for the web page). A run is one job, named by
// its delivery ID.
type LiveLog interface {
	// Writer returns the writer of one project's output in a run.
	Writer(ctx context.Context, repo string, pr int, run, project string) io.WriteCloser
	// End records the end of a run, with its outcome.
	End(ctx context.Context, repo string, pr int, run, outcome string)
}

// Pages names the pages of planbot's web page that the plan comment and
// the commit status link to.
type Pages interface {
	// PullURL is the page of a pull request.
	PullURL(repo planbot.Repo, pr int) string
	// RunURL is the live log of a run of a pull request.
	RunURL(repo planbot.Repo, pr int, run string) string
}

// liveOutput returns the run option that streams a project's terraform
// output to live, and the function that closes the stream; none when
// live is nil.
func liveOutput(ctx context.Context, live LiveLog, pr planbot.PullRequest, run, project string) (terraform.RunOption, func()) {
	if live == nil || run == "" {
		return terraform.Output(nil), func() {}
	}
	w := live.Writer(ctx, pr.Repo.String(), pr.Number, run, project)
	return terraform.Output(w), func() { w.Close() }
}

// endLive records the end of a run in live, when it is set.
func endLive(ctx context.Context, live LiveLog, pr planbot.PullRequest, run, outcome string) {
	if live != nil && run != "" {
		live.End(ctx, pr.Repo.String(), pr.Number, run, outcome)
	}
}

// pullURL is the target of a PR's final statuses: its page when pages is
// set, else the PR on GitHub.
func pullURL(pages Pages, pr planbot.PullRequest) string {
	if pages == nil {
		return pr.HTMLURL
	}
	return pages.PullURL(pr.Repo, pr.Number)
}

// runURL is the target of a PR's status while run goes on: its live log
// when pages is set (the PR's page for a run without a name), else the PR
// on GitHub.
func runURL(pages Pages, pr planbot.PullRequest, run string) string {
	if pages == nil || run == "" {
		return pullURL(pages, pr)
	}
	return pages.RunURL(pr.Repo, pr.Number, run)
}

// pageNote is the plan comment's line that links to the PR's page; none
// without pages.
func pageNote(pages Pages, pr planbot.PullRequest) []string {
	if pages == nil {
		return nil
	}
	return []string{"Plans, approvals, jobs and live logs of this pull request: [planbot's page](" + pages.PullURL(pr.Repo, pr.Number) + ")."}
}
