// Package checkrun builds the check runs planbot writes next to its commit
// statuses: one per project and plan, named "planbot plan: <project>", and
// one per project and apply, "planbot apply: <project>".
//
// A Run is what one request to the Checks API says about a check run. Plan
// builds the finished run of a project's plan from its result: the summary
// line as output.title, the project's section of the plan comment as
// output.summary, the plan itself as output.text (both rendered, redacted
// and cut to the API's 65,535-character limit by package comment), the
// conclusion, annotations for terraform fmt problems and for errors that
// name a file and line, and the Apply and Re-plan buttons (actions).
//
// A run's ExternalID names the pull request and the project (see package
// event), so that a click on a button, or a re-run, is routed to the pull
// request even when GitHub cannot tell which one it is (a fork's branch).
//
// Everything here is a pure function of values; the GitHub adapter splits
// the annotations into requests of at most MaxAnnotations.
package checkrun

import (
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/redact"
)

// The Checks API's limits.
const (
	// MaxAnnotations is the most annotations one request may carry;
	// later updates append more.
	MaxAnnotations = 50
	// MaxActions is the most buttons a check run may have.
	MaxActions = 3
	// MaxLabel, MaxDescription and MaxIdentifier bound an action's
	// fields, in characters.
	MaxLabel       = 20
	MaxDescription = 40
	MaxIdentifier  = 20
)

// MaxRunAnnotations is the most annotations planbot writes on one check
// run, so that a badly formatted root costs a bounded number of requests
// (MaxRunAnnotations / MaxAnnotations); the summary counts the others.
const MaxRunAnnotations = 200

// The identifiers of the buttons, sent back in a check_run
// requested_action delivery.
const (
	ActionApply  = "apply"
	ActionReplan = "replan"
)

// The statuses of a check run.
const (
	InProgress = "in_progress"
	Completed  = "completed"
)

// Run is a check run as planbot writes it: the fields of one create or
// update request. Zero fields are not sent.
type Run struct {
	Name       string
	HeadSHA    string
	ExternalID string
	DetailsURL string
	// Status is InProgress or Completed; Conclusion is set when it is
	// Completed.
	Status     string
	Conclusion string
	// Title, Summary and Text are the output; an output is sent when
	// Title is set.
	Title, Summary, Text string
	Annotations          []Annotation
	Actions              []Action
}

// Annotation marks lines of a file in the pull request's diff view.
type Annotation struct {
	// Path is relative to the repository's root.
	Path               string
	StartLine, EndLine int
	// Level is notice, warning or failure.
	Level   string
	Title   string
	Message string
	// RawDetails is shown folded under the message.
	RawDetails string
}

// Action is a button of a check run.
type Action struct {
	Label, Description, Identifier string
}

// PlanName returns the name of a project's plan check run.
func PlanName(project string) string { return "planbot plan: " + project }

// ApplyName returns the name of a project's apply check run.
func ApplyName(project string) string { return "planbot apply: " + project }

// Started returns the in-progress run of a project's plan, created when
// the project starts planning.
func Started(pr planbot.PullRequest, p planbot.Project) Run {
	return Run{
		Name: PlanName(p.Name), HeadSHA: pr.HeadSHA, DetailsURL: pr.HTMLURL, Status: InProgress,
		ExternalID: event.CheckRunRef{PR: pr.Number, Project: p.Name}.String(),
	}
}

// Plan returns the finished run of a project's plan result.
func Plan(pr planbot.PullRequest, res planbot.Result, opts comment.Options) Run {
	r := Started(pr, res.Project)
	r.Status, r.Conclusion = Completed, comment.CheckConclusion(res)
	r.Title = comment.CheckTitle(res)
	r.Summary = comment.CheckSummary(res, opts)
	r.Text = comment.CheckText(res, opts)
	all := Annotations(res)
	if len(all) > MaxRunAnnotations {
		all = all[:MaxRunAnnotations]
	}
	for i := range all {
		all[i].Message = redact.String(all[i].Message, opts.Secrets)
		all[i].Title = redact.String(all[i].Title, opts.Secrets)
		all[i].RawDetails = redact.String(all[i].RawDetails, opts.Secrets)
	}
	r.Annotations = all
	r.Actions = Actions(res)
	return r
}

// Actions returns the buttons of a project's plan run: Apply when the plan
// has something to apply, and always Re-plan.
func Actions(res planbot.Result) []Action {
	replan := Action{Label: "Re-plan", Description: "Plan this pull request again", Identifier: ActionReplan}
	if res.Status != planbot.StatusPlanned {
		return []Action{replan}
	}
	return []Action{
		{Label: "Apply", Description: "Apply this project's saved plan", Identifier: ActionApply},
		replan,
	}
}

// ApplyStarted returns the in-progress run of a project's apply.
func ApplyStarted(pr planbot.PullRequest, project string) Run {
	return Run{
		Name: ApplyName(project), HeadSHA: pr.HeadSHA, DetailsURL: pr.HTMLURL, Status: InProgress,
		ExternalID: event.CheckRunRef{PR: pr.Number, Project: project}.String(),
	}
}

// Applied returns the finished run of a project's apply: its conclusion
// (success, failure, or neutral for a dry run), a title and, as summary,
// what the apply reported on the pull request, redacted and cut to fit.
func Applied(pr planbot.PullRequest, project, conclusion, title, summary string, secrets []string) Run {
	r := ApplyStarted(pr, project)
	r.Status, r.Conclusion = Completed, conclusion
	r.Title, r.Summary = title, comment.CheckFit(summary, secrets)
	return r
}
