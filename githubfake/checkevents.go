package githubfake

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// sortedPulls returns the numbers of a repository's pull requests in
// order. The caller holds mu.
func sortedPulls(rp *repo) []int {
	ns := make([]int, 0, len(rp.pulls))
	for n := range rp.pulls {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// mustCheckRun returns check run id of a repository. The caller holds mu.
func (s *Server) mustCheckRun(rp *repo, id int64) *checkRun {
	s.t.Helper()
	for _, c := range s.checkRuns {
		if c.ID == id && c.repo == rp {
			return c
		}
	}
	s.t.Fatalf("githubfake: no check run %d in %s", id, rp.fullName())
	return nil
}

// CheckRunEvent returns a check_run payload (action rerequested,
// requested_action, created or completed) for check run id, sent by
// sender: the run as the API shows it, with its pull_requests. For
// requested_action, identifier is the clicked button's.
func (s *Server) CheckRunEvent(action, fullName string, id int64, sender, identifier string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	c := s.mustCheckRun(rp, id)
	ex := "rerequested"
	if action == "requested_action" {
		ex = "requested_action"
	}
	m := s.example("check_run." + ex)
	m["action"] = action
	m["check_run"] = s.checkRunJSON(c)
	delete(m, "requested_action")
	if action == "requested_action" {
		m["requested_action"] = map[string]any{"identifier": identifier}
	}
	s.common(m, rp, sender)
	return s.marshal(m)
}

// CheckSuiteEvent returns a check_suite payload (action rerequested, as
// the "Re-run all checks" button sends it) for the App's check suite of
// sha, sent by sender.
func (s *Server) CheckSuiteEvent(action, fullName, sha, sender string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	m := s.example("check_suite.rerequested")
	m["action"] = action
	api := s.APIURL() + "repos/" + rp.fullName()
	id := rp.id*1000 + 1
	status, conclusion := "completed", any("success")
	for _, c := range s.checkRuns {
		if c.repo == rp && c.HeadSHA == sha && c.Status != "completed" {
			status, conclusion = "in_progress", nil
		}
	}
	overlay(m, "check_suite", map[string]any{
		"id": id, "node_id": nodeID("CS_kwDO", id), "head_branch": s.headBranch(rp, sha), "head_sha": sha,
		"status": status, "conclusion": conclusion, "url": api + "/check-suites/" + fmt.Sprint(id),
		"before": nil, "after": sha, "pull_requests": s.checkPulls(rp, sha), "app": s.appJSON(),
		"check_runs_url": api + "/check-suites/" + fmt.Sprint(id) + "/check-runs",
		"head_commit":    map[string]any{"id": sha},
	})
	s.common(m, rp, sender)
	return s.marshal(m)
}

// Click is a person clicking a button of a check run: it fails the test
// when the run has no button with that identifier (GitHub shows none),
// and otherwise delivers the signed check_run requested_action webhook,
// with user as the sender, to url. It returns the response and the
// delivery's GUID.
func (s *Server) Click(ctx context.Context, url, secret, fullName string, id int64, user, identifier string) (*http.Response, string, error) {
	s.t.Helper()
	s.mu.Lock()
	c := s.mustCheckRun(s.mustRepo(fullName), id)
	found := slices.ContainsFunc(c.Actions, func(a CheckAction) bool { return a.Identifier == identifier })
	s.mu.Unlock()
	if !found {
		s.t.Fatalf("githubfake: check run %d has no button %q", id, identifier)
	}
	return s.Deliver(ctx, url, secret, "check_run", s.CheckRunEvent("requested_action", fullName, id, user, identifier))
}
