package event

import (
	"net/url"
	"strconv"

	"github.com/google/go-github/v62/github"
)

// CheckRunRef is what planbot writes in the external_id of its check runs:
// the pull request and the project a run is about. GitHub sends it back in
// every check_run delivery of the run, so a click on a button or a re-run
// is routed to its pull request even when the run's pull_requests list is
// empty, as it is for a branch of a fork.
type CheckRunRef struct {
	PR      int
	Project string
}

// String encodes r as an external_id: "pr=12&project=envs%2Fdev".
func (r CheckRunRef) String() string {
	return url.Values{"pr": {strconv.Itoa(r.PR)}, "project": {r.Project}}.Encode()
}

// ParseCheckRunRef decodes an external_id that planbot wrote, and reports
// false for any other (another App's, or none).
func ParseCheckRunRef(externalID string) (CheckRunRef, bool) {
	v, err := url.ParseQuery(externalID)
	if err != nil || len(v["pr"]) != 1 || len(v["project"]) != 1 || len(v) != 2 {
		return CheckRunRef{}, false
	}
	n, err := strconv.Atoi(v.Get("pr"))
	if err != nil || n <= 0 || v.Get("project") == "" {
		return CheckRunRef{}, false
	}
	return CheckRunRef{PR: n, Project: v.Get("project")}, true
}

// checkRun is the subject of a check_run payload: the pull request its
// external_id names. A run without planbot's external_id is not
// planbot's, and not work.
func checkRun(payload any) (Subject, bool) {
	ev, _ := payload.(*github.CheckRunEvent)
	ref, ok := ParseCheckRunRef(ev.GetCheckRun().GetExternalID())
	s := Subject{Repo: ev.GetRepo().GetFullName(), PR: ref.PR, Installation: ev.GetInstallation().GetID()}
	return s, ok && s.Repo != ""
}

// checkSuite is the subject of a check_suite payload: the first pull
// request of the suite's head. A suite of a fork's branch lists none, and
// is not work.
func checkSuite(payload any) (Subject, bool) {
	ev, _ := payload.(*github.CheckSuiteEvent)
	suite := ev.GetCheckSuite()
	if suite == nil || len(suite.PullRequests) == 0 {
		return Subject{}, false
	}
	s := Subject{Repo: ev.GetRepo().GetFullName(), PR: suite.PullRequests[0].GetNumber(), Installation: ev.GetInstallation().GetID()}
	return s, s.Repo != "" && s.PR > 0
}

// requestedAction reports whether a check_run requested_action payload
// names the button that was clicked.
func requestedAction(payload any) bool {
	ev, _ := payload.(*github.CheckRunEvent)
	return ev.GetRequestedAction() != nil && ev.GetRequestedAction().Identifier != ""
}
