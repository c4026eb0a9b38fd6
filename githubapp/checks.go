package githubapp

import (
	"context"
	"fmt"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/checkrun"
)

// CreateCheckRun creates a check run and returns its id. Annotations
// beyond the Checks API's 50 per request are added by further updates, as
// the API requires. In dry-run mode it logs and returns 0.
func (c *Client) CreateCheckRun(ctx context.Context, repo planbot.Repo, run checkrun.Run) (int64, error) {
	if c.dryRun {
		c.logger.Info("dry run: create check run", "repo", repo.String(), "sha", run.HeadSHA, "name", run.Name, "status", run.Status)
		return 0, nil
	}
	first, rest := batch(run.Annotations)
	opts := github.CreateCheckRunOptions{
		Name: run.Name, HeadSHA: run.HeadSHA, DetailsURL: optional(run.DetailsURL), ExternalID: optional(run.ExternalID),
		Status: optional(run.Status), Conclusion: optional(run.Conclusion), Output: output(run, first), Actions: actions(run.Actions),
	}
	cr, resp, err := c.gh.Checks.CreateCheckRun(ctx, repo.Owner, repo.Name, opts)
	if err != nil {
		return 0, wrap(fmt.Sprintf("create check run %q on %s@%s", run.Name, repo, run.HeadSHA), resp, err)
	}
	return cr.GetID(), c.appendAnnotations(ctx, repo, cr.GetID(), run, rest)
}

// UpdateCheckRun updates check run id with what run sets, in as many
// requests as its annotations need. In dry-run mode, or for the id 0 of a
// dry run's create, it logs and does nothing.
func (c *Client) UpdateCheckRun(ctx context.Context, repo planbot.Repo, id int64, run checkrun.Run) error {
	if c.dryRun || id == 0 {
		c.logger.Info("dry run: update check run", "repo", repo.String(), "check_run", id, "name", run.Name, "status", run.Status)
		return nil
	}
	first, rest := batch(run.Annotations)
	opts := github.UpdateCheckRunOptions{
		Name: run.Name, DetailsURL: optional(run.DetailsURL), ExternalID: optional(run.ExternalID),
		Status: optional(run.Status), Conclusion: optional(run.Conclusion), Output: output(run, first), Actions: actions(run.Actions),
	}
	_, resp, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, opts)
	if err != nil {
		return wrap(fmt.Sprintf("update check run %d on %s", id, repo), resp, err)
	}
	return c.appendAnnotations(ctx, repo, id, run, rest)
}

// appendAnnotations adds annotations to a check run, at most
// checkrun.MaxAnnotations per update. Each update repeats the run's
// output, which the API requires with its annotations.
func (c *Client) appendAnnotations(ctx context.Context, repo planbot.Repo, id int64, run checkrun.Run, anns []checkrun.Annotation) error {
	for len(anns) > 0 {
		var next []checkrun.Annotation
		next, anns = batch(anns)
		_, resp, err := c.gh.Checks.UpdateCheckRun(ctx, repo.Owner, repo.Name, id, github.UpdateCheckRunOptions{
			Name: run.Name, Output: output(run, next),
		})
		if err != nil {
			return wrap(fmt.Sprintf("annotate check run %d on %s", id, repo), resp, err)
		}
	}
	return nil
}

// batch splits annotations into the first request's and the rest.
func batch(anns []checkrun.Annotation) (first, rest []checkrun.Annotation) {
	if len(anns) <= checkrun.MaxAnnotations {
		return anns, nil
	}
	return anns[:checkrun.MaxAnnotations], anns[checkrun.MaxAnnotations:]
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// output returns the output of run with the given annotations, nil when
// run has no title (GitHub requires title and summary together).
func output(run checkrun.Run, anns []checkrun.Annotation) *github.CheckRunOutput {
	if run.Title == "" {
		return nil
	}
	summary := run.Summary
	if summary == "" {
		summary = run.Title
	}
	o := &github.CheckRunOutput{Title: &run.Title, Summary: &summary, Text: optional(run.Text)}
	for _, a := range anns {
		o.Annotations = append(o.Annotations, &github.CheckRunAnnotation{
			Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level), Message: github.String(a.Message),
			Title: optional(a.Title), RawDetails: optional(a.RawDetails),
		})
	}
	return o
}

func actions(as []checkrun.Action) []*github.CheckRunAction {
	var out []*github.CheckRunAction
	for _, a := range as {
		out = append(out, &github.CheckRunAction{Label: a.Label, Description: a.Description, Identifier: a.Identifier})
	}
	return out
}
