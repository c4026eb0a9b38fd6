// Package event is planbot's routing table: which GitHub webhook deliveries
// are work, what each is about and which job handles it.
//
// The table (Table) is one literal list of rows. A row names an event (the
// X-GitHub-Event header), the payload actions it takes, a predicate over
// the decoded payload and the Kind of job the delivery becomes. Three
// places read it, and only it:
//
//   - ingress (package webhook) stores a delivery as a job only when Decode
//     routes it, keyed by its Subject;
//   - the runner's handler decodes the stored payload with Decode again and
//     runs the flow of its Kind;
//   - the runner's Redeliverer asks GitHub to redeliver a failed delivery
//     only when Handles reports that a row takes its event and action.
//
// Most work is about a pull request. A push to a repository's default
// branch is about the branch: its Subject has no pull request (PR is 0),
// and its job renders the branch's Kustomize overlays ahead of the plans
// that will need them as their base. A push that creates a tag is about
// the repository too: its job releases the tag (see package release). So
// is a push that creates another branch: its job fetches the branch's
// commits, ahead of the pull request that will be opened from it.
//
// A payload is decoded once where it is needed, into the typed go-github
// event, and that value is what the predicates and the flows read. Handling
// a new event means adding rows, and a flow for a new Kind.
//
// Check runs: a click on a button of one of planbot's check runs
// (check_run requested_action) and a re-run of one (check_run
// rerequested) are about the pull request the run's external_id names
// (CheckRunRef); a re-run of a check suite is about the first pull request
// of the suite's head.
package event

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/release"
)

// Kind names the job a routed delivery becomes, that is the flow that
// handles it.
type Kind string

// The kinds of job.
const (
	// Plan plans the pull request at its head.
	Plan Kind = "plan"
	// Replan plans the pull request again even when its head was planned:
	// its base branch changed.
	Replan Kind = "replan"
	// Close releases a closed pull request's locks, plans and workspaces.
	Close Kind = "close"
	// Command runs the slash command of a pull request comment.
	Command Kind = "command"
	// Prerender renders the Kustomize overlays of the default branch's new
	// tip into the render cache, so that a pull request based on it renders
	// only its head.
	Prerender Kind = "prerender"
	// Prefetch fetches the commits of a branch just pushed into the
	// repository's cache, so that the plan of the pull request opened
	// from it finds them and fetches nothing.
	Prefetch Kind = "prefetch"
	// Release releases a tag pushed to a repository (see package
	// release): it opens the pull request that bumps the images the tag
	// names, or tells on the tagged commit why not.
	Release Kind = "release"
	// APIRelease performs a release asked through planbot's API (see
	// ReleaseEvent).
	APIRelease Kind = "api_release"
	// Rerun plans the pull request again because someone asked GitHub to
	// re-run one of planbot's check runs, or its check suite.
	Rerun Kind = "rerun"
	// CheckAction runs the button of a planbot check run that someone
	// clicked: Apply or Re-plan.
	CheckAction Kind = "check_action"
)

// ReleaseEvent is the event of the jobs that planbot's release API
// stores, with a release.APIJob as payload. GitHub never sends it, and
// ingress refuses a delivery that claims it; only the API stores it, and
// the runner routes it by the table like any other job.
const ReleaseEvent = "planbot_release"

// Subject is what a delivery is about: a pull request of a repository (or,
// for a push, the repository alone), and the App installation that
// delivered it.
type Subject struct {
	// Repo is the repository's full name, "owner/name", as the payload
	// spells it.
	Repo string
	// PR is the pull request's number, 0 for a push.
	PR           int
	Installation int64
}

// Key returns the job key of s. Jobs of one key never run at once, so two
// deliveries about one pull request, or two pushes to one repository, are
// handled in turn.
func (s Subject) Key() string {
	return fmt.Sprintf("%s#%d", strings.ToLower(s.Repo), s.PR)
}

// Route is one row of the table.
type Route struct {
	// Event is the X-GitHub-Event of the deliveries the row takes.
	Event string
	// Actions are the payload's actions the row takes; "" stands for an
	// event whose payloads have no action, such as push.
	Actions []string
	// Subject returns what a decoded payload is about, and false when the
	// payload names no repository or pull request: such a delivery is not
	// work.
	Subject func(payload any) (Subject, bool)
	// When reports whether a decoded payload is work; nil takes every
	// payload of the event and actions.
	When func(payload any) bool
	// Kind is the job the delivery becomes.
	Kind Kind
}

// Table returns the routing table. Rows that take the same event and
// action have predicates that never both hold (a push moves the default
// branch, creates a tag or creates another branch); a delivery takes the
// first row whose predicate holds.
func Table() []Route {
	return []Route{
		{Event: "pull_request", Actions: []string{"opened", "synchronize", "reopened", "ready_for_review"}, Subject: pullRequest, Kind: Plan},
		{Event: "pull_request", Actions: []string{"edited"}, Subject: pullRequest, When: baseChanged, Kind: Replan},
		{Event: "pull_request", Actions: []string{"closed"}, Subject: pullRequest, Kind: Close},
		{Event: "issue_comment", Actions: []string{"created"}, Subject: issueComment, When: slashCommand, Kind: Command},
		{Event: "push", Actions: []string{""}, Subject: push, When: defaultBranchTip, Kind: Prerender},
		{Event: "push", Actions: []string{""}, Subject: push, When: tagCreated, Kind: Release},
		{Event: "push", Actions: []string{""}, Subject: push, When: branchCreated, Kind: Prefetch},
		{Event: ReleaseEvent, Actions: []string{""}, Subject: apiRelease, Kind: APIRelease},
		{Event: "check_run", Actions: []string{"requested_action"}, Subject: checkRun, When: requestedAction, Kind: CheckAction},
		{Event: "check_run", Actions: []string{"rerequested"}, Subject: checkRun, Kind: Rerun},
		{Event: "check_suite", Actions: []string{"rerequested"}, Subject: checkSuite, Kind: Rerun},
	}
}

// Delivery is a decoded delivery and, when it is work, its route.
type Delivery struct {
	// Event is the X-GitHub-Event header.
	Event string
	// Action is the payload's action, "" when it has none.
	Action string
	// Payload is the typed go-github event (such as
	// *github.PullRequestEvent) for an event of the table, nil for others.
	Payload any
	// Kind is the job the delivery becomes, "" when it is not work.
	Kind Kind
	// Subject is what the delivery is about; set when Kind is.
	Subject Subject
}

// Work reports whether the delivery is work: a row of the table takes it.
func (d Delivery) Work() bool { return d.Kind != "" }

// Decode decodes a delivery's payload, the raw body of event, once, and
// routes it by the table. The payload of an event that the table has rows
// for is decoded into its go-github type; of any other payload, which is
// never work, only the action is read. An error means that the payload is
// malformed: it will never be work.
func Decode(event string, body []byte) (Delivery, error) {
	d := Delivery{Event: event}
	if !Known(event) {
		var object struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(body, &object); err != nil {
			return d, fmt.Errorf("decode %s payload: %w", event, err)
		}
		d.Action = object.Action
		return d, nil
	}
	payload, err := parse(event, body)
	if err != nil {
		return d, fmt.Errorf("decode %s payload: %w", event, err)
	}
	d.Payload = payload
	if a, ok := payload.(interface{ GetAction() string }); ok {
		d.Action = a.GetAction()
	}
	for _, r := range Table() {
		if r.Event != event || !slices.Contains(r.Actions, d.Action) {
			continue
		}
		s, ok := r.Subject(payload)
		if !ok || (r.When != nil && !r.When(payload)) {
			continue
		}
		d.Kind, d.Subject = r.Kind, s
		return d, nil
	}
	return d, nil
}

// parse decodes the payload of an event of the table: a GitHub event into
// its go-github type, a ReleaseEvent into a *release.APIJob.
func parse(event string, body []byte) (any, error) {
	if event != ReleaseEvent {
		return github.ParseWebHook(event, body)
	}
	var j release.APIJob
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Handles reports whether a row of the table takes event and action, before
// its payload is read: a delivery of them may be work.
func Handles(event, action string) bool {
	for _, r := range Table() {
		if r.Event == event && slices.Contains(r.Actions, action) {
			return true
		}
	}
	return false
}

// Known reports whether the table has rows for event.
func Known(event string) bool {
	for _, r := range Table() {
		if r.Event == event {
			return true
		}
	}
	return false
}

// pullRequest is the subject of a pull_request payload.
func pullRequest(payload any) (Subject, bool) {
	ev, _ := payload.(*github.PullRequestEvent)
	s := Subject{Repo: ev.GetRepo().GetFullName(), PR: ev.GetNumber(), Installation: ev.GetInstallation().GetID()}
	return s, s.Repo != "" && s.PR > 0
}

// issueComment is the subject of an issue_comment payload.
func issueComment(payload any) (Subject, bool) {
	ev, _ := payload.(*github.IssueCommentEvent)
	s := Subject{Repo: ev.GetRepo().GetFullName(), PR: ev.GetIssue().GetNumber(), Installation: ev.GetInstallation().GetID()}
	return s, s.Repo != "" && s.PR > 0
}

// push is the subject of a push payload: its repository.
func push(payload any) (Subject, bool) {
	ev, _ := payload.(*github.PushEvent)
	s := Subject{Repo: ev.GetRepo().GetFullName(), Installation: ev.GetInstallation().GetID()}
	return s, s.Repo != ""
}

// defaultBranchTip reports whether a push payload moved the repository's
// default branch to a new commit: not a push to another branch or a tag,
// and not the branch's deletion.
func defaultBranchTip(payload any) bool {
	ev, _ := payload.(*github.PushEvent)
	branch := ev.GetRepo().GetDefaultBranch()
	return branch != "" && ev.GetRef() == "refs/heads/"+branch && !ev.GetDeleted() &&
		ev.GetAfter() != "" && strings.Trim(ev.GetAfter(), "0") != ""
}

// apiRelease is the subject of an API release: its repository, which
// serializes it with the repository's tag releases.
func apiRelease(payload any) (Subject, bool) {
	j, _ := payload.(*release.APIJob)
	s := Subject{Repo: j.Repo, Installation: j.Installation}
	return s, s.Repo != "" && s.Installation != 0
}

// branchCreated reports whether a push payload created a branch other
// than the default branch, as a push does before a pull request is
// opened from it. Later pushes to a branch are not prefetched: the
// synchronize webhook of its pull request arrives with them.
func branchCreated(payload any) bool {
	ev, _ := payload.(*github.PushEvent)
	branch, ok := strings.CutPrefix(ev.GetRef(), "refs/heads/")
	return ok && branch != "" && branch != ev.GetRepo().GetDefaultBranch() && ev.GetCreated() && !ev.GetDeleted() &&
		ev.GetAfter() != "" && strings.Trim(ev.GetAfter(), "0") != ""
}

// tagCreated reports whether a push payload created a tag: a release tag
// is pushed once (a tag moved later, or deleted, is no release).
func tagCreated(payload any) bool {
	ev, _ := payload.(*github.PushEvent)
	return strings.HasPrefix(ev.GetRef(), "refs/tags/") && ev.GetCreated() && !ev.GetDeleted() &&
		ev.GetAfter() != "" && strings.Trim(ev.GetAfter(), "0") != ""
}

// baseChanged reports whether a pull_request edited payload changed the
// base branch: only that changes what is planned.
func baseChanged(payload any) bool {
	ev, _ := payload.(*github.PullRequestEvent)
	return ev.GetChanges().GetBase() != nil
}

// slashCommand reports whether an issue_comment payload is a comment on a
// pull request, by a person (never a bot, planbot included), that starts
// with "/".
func slashCommand(payload any) bool {
	ev, _ := payload.(*github.IssueCommentEvent)
	switch {
	case ev.GetIssue().GetPullRequestLinks() == nil, ev.GetComment() == nil:
		return false
	case ev.GetSender().GetType() == "Bot", ev.GetComment().GetUser().GetType() == "Bot":
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(ev.GetComment().GetBody()), "/")
}
