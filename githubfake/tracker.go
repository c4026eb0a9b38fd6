package githubfake

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// issue is one issue (not a pull request). Its fields are guarded by
// Server.mu. Issues and pull requests share the repository's numbers.
type issue struct {
	number      int
	id          int64
	title, body string
	user        string
	viaApp      bool
	state       string // "open" or "closed"
	stateReason string
	closedBy    string
	labels      []string
	edits       int
	created     time.Time
	updated     time.Time
	closed      time.Time
}

// label is one repository label. Its fields are guarded by Server.mu.
type label struct {
	id                       int64
	name, color, description string
}

// Issue is a snapshot of an issue.
type Issue struct {
	Number int
	Title  string
	Body   string
	User   string
	// State is "open" or "closed", StateReason GitHub's state_reason.
	State       string
	StateReason string
	// ClosedBy is who closed it last ("" while it was never closed).
	ClosedBy string
	Labels   []string
	// Edits counts the PATCH requests that changed the issue.
	Edits     int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Label is a snapshot of a repository label.
type Label struct {
	Name, Color, Description string
}

func snapshotIssue(is *issue) Issue {
	return Issue{
		Number: is.number, Title: is.title, Body: is.body, User: is.user, State: is.state,
		StateReason: is.stateReason, ClosedBy: is.closedBy, Labels: append([]string(nil), is.labels...),
		Edits: is.edits, CreatedAt: is.created, UpdatedAt: is.updated,
	}
}

// Issues returns the issues of a repository (not its pull requests) in
// ascending number order.
func (s *Server) Issues(fullName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	var out []Issue
	for _, n := range slices.Sorted(maps.Keys(rp.issues)) {
		out = append(out, snapshotIssue(rp.issues[n]))
	}
	return out
}

// CloseIssue closes an issue as user, as a person does in the web UI.
func (s *Server) CloseIssue(fullName string, number int, user string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	is := rp.issues[number]
	if is == nil {
		s.t.Fatalf("githubfake: no issue %s#%d", fullName, number)
	}
	s.userID(user)
	is.state, is.stateReason, is.closedBy, is.closed, is.updated = "closed", "completed", user, s.now(), s.now()
}

// RepoLabel returns a repository's label by name (case-insensitive).
func (s *Server) RepoLabel(fullName, name string) (Label, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.mustRepo(fullName).labels[strings.ToLower(name)]
	if l == nil {
		return Label{}, false
	}
	return Label{Name: l.name, Color: l.color, Description: l.description}, true
}

// isIssue reports whether number is an issue or a pull request of rp. The
// caller holds mu.
func isIssue(rp *repo, number int) bool { return rp.pulls[number] != nil || rp.issues[number] != nil }

const (
	createIssueDoc = "https://docs.github.com/rest/issues/issues#create-an-issue"
	updateIssueDoc = "https://docs.github.com/rest/issues/issues#update-an-issue"
	createLabelDoc = "https://docs.github.com/rest/issues/labels#create-a-label"
)

func (s *Server) labelJSON(rp *repo, l *label) map[string]any {
	return map[string]any{
		"id": l.id, "node_id": nodeID("LA_kwDO", l.id),
		"url":  s.APIURL() + "repos/" + rp.fullName() + "/labels/" + url.PathEscape(l.name),
		"name": l.name, "color": l.color, "description": l.description, "default": false,
	}
}

// issueJSON returns the issue object. The caller holds mu.
func (s *Server) issueJSON(rp *repo, is *issue) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName()
	labels := []any{}
	for _, name := range is.labels {
		if l := rp.labels[strings.ToLower(name)]; l != nil {
			labels = append(labels, s.labelJSON(rp, l))
		}
	}
	var closedAt, closedBy, reason, app any
	if !is.closed.IsZero() {
		closedAt = is.closed.Format(time.RFC3339)
	}
	if is.closedBy != "" {
		closedBy = s.userJSON(is.closedBy)
	}
	if is.stateReason != "" {
		reason = is.stateReason
	}
	if is.viaApp {
		app = s.appJSON()
	}
	return map[string]any{
		"id": is.id, "node_id": nodeID("I_kwDO", is.id), "number": is.number,
		"url":      fmt.Sprintf("%s/issues/%d", api, is.number),
		"html_url": fmt.Sprintf("%s/%s/issues/%d", s.srv.URL, rp.fullName(), is.number),
		"title":    is.title, "body": is.body, "user": s.userJSON(is.user),
		"labels": labels, "state": is.state, "state_reason": reason, "locked": false,
		"comments":   s.countComments(rp, is.number),
		"created_at": is.created.Format(time.RFC3339), "updated_at": is.updated.Format(time.RFC3339),
		"closed_at": closedAt, "closed_by": closedBy,
		"author_association":       s.association(rp, is.user),
		"performed_via_github_app": app,
	}
}

// pullAsIssueJSON returns a pull request as GET /issues lists it: with a
// pull_request key. The caller holds mu.
func (s *Server) pullAsIssueJSON(rp *repo, pr *pull) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName()
	return map[string]any{
		"id": pr.id, "number": pr.number, "title": pr.title, "user": s.userJSON(pr.author),
		"state": pr.state, "labels": []any{}, "body": nil,
		"url":          fmt.Sprintf("%s/issues/%d", api, pr.number),
		"pull_request": map[string]any{"url": fmt.Sprintf("%s/pulls/%d", api, pr.number)},
		"created_at":   pr.created.Format(time.RFC3339), "updated_at": pr.updated.Format(time.RFC3339),
	}
}

// issueFields decodes the fields of a create or update; a nil pointer is
// a field not sent.
type issueFields struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
}

// checkIssue writes the 422 of invalid fields and reports whether they
// are valid. The caller holds mu.
func (s *Server) checkIssue(w http.ResponseWriter, in issueFields, doc string) bool {
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		writeValidation(w, doc, map[string]any{"resource": "Issue", "code": "missing_field", "field": "title"})
		return false
	}
	if in.Body != nil && s.bodyTooLong(*in.Body) {
		writeValidation(w, doc, map[string]any{"resource": "Issue", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"})
		return false
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		writeValidation(w, doc, map[string]any{"resource": "Issue", "code": "invalid", "field": "state"})
		return false
	}
	if in.StateReason != nil {
		switch *in.StateReason {
		case "completed", "not_planned", "reopened":
		default:
			writeValidation(w, doc, map[string]any{"resource": "Issue", "code": "invalid", "field": "state_reason"})
			return false
		}
	}
	return true
}

// setLabels sets is's labels, creating missing ones with GitHub's
// default color as GitHub does. The caller holds mu.
func (s *Server) setLabels(rp *repo, is *issue, names []string) {
	is.labels = nil
	for _, n := range names {
		l := rp.labels[strings.ToLower(n)]
		if l == nil {
			l = &label{id: s.newID(), name: n, color: "ededed"}
			rp.labels[strings.ToLower(n)] = l
		}
		is.labels = append(is.labels, l.name)
	}
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in issueFields
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Title == nil {
		writeValidation(w, createIssueDoc, map[string]any{"resource": "Issue", "code": "missing_field", "field": "title"})
		return
	}
	if !s.checkIssue(w, in, createIssueDoc) {
		return
	}
	is := &issue{number: rp.nextNumber, id: s.newID(), title: *in.Title, user: s.BotLogin(), viaApp: true,
		state: "open", created: s.now(), updated: s.now()}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.Labels != nil {
		s.setLabels(rp, is, *in.Labels)
	}
	rp.nextNumber++
	rp.issues[is.number] = is
	m := s.issueJSON(rp, is)
	w.Header().Set("Location", m["url"].(string))
	writeJSON(w, http.StatusCreated, m)
}

// issueFromPath returns the issue of the {n} path value, writing a 404
// when there is none. A pull request number is answered 404 too: the fake
// does not edit pull requests through the issues API.
func (s *Server) issueFromPath(w http.ResponseWriter, r *http.Request, rp *repo) *issue {
	n, _ := strconv.Atoi(r.PathValue("n"))
	is := rp.issues[n]
	if is == nil {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return is
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, rp *repo) {
	if is := s.issueFromPath(w, r, rp); is != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
	}
}

func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request, rp *repo) {
	is := s.issueFromPath(w, r, rp)
	if is == nil {
		return
	}
	var in issueFields
	if !decodeBody(w, r, &in) {
		return
	}
	if !s.checkIssue(w, in, updateIssueDoc) {
		return
	}
	if in.Title != nil {
		is.title = *in.Title
	}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.Labels != nil {
		s.setLabels(rp, is, *in.Labels)
	}
	if in.State != nil && *in.State != is.state {
		is.state = *in.State
		if is.state == "closed" {
			is.closed, is.closedBy, is.stateReason = s.now(), s.BotLogin(), "completed"
		} else {
			is.closed, is.stateReason = time.Time{}, "reopened"
		}
	}
	if in.StateReason != nil {
		is.stateReason = *in.StateReason
	}
	is.edits++
	is.updated = s.now()
	writeJSON(w, http.StatusOK, s.issueJSON(rp, is))
}

// listIssues serves GET /repos/{o}/{r}/issues: issues and pull requests,
// newest first, filtered by state (default open) and by labels (all of
// them must be present).
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	for _, l := range strings.Split(q.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, strings.ToLower(l))
		}
	}
	numbers := map[int]bool{}
	for n := range rp.issues {
		numbers[n] = true
	}
	for n := range rp.pulls {
		numbers[n] = true
	}
	var list []any
	ns := slices.Sorted(maps.Keys(numbers))
	for i := len(ns) - 1; i >= 0; i-- {
		n := ns[i]
		var st string
		var labels []string
		if is := rp.issues[n]; is != nil {
			st, labels = is.state, is.labels
		} else {
			st = rp.pulls[n].state
		}
		if state != "all" && st != state || !hasLabels(labels, want) {
			continue
		}
		if is := rp.issues[n]; is != nil {
			list = append(list, s.issueJSON(rp, is))
		} else {
			list = append(list, s.pullAsIssueJSON(rp, rp.pulls[n]))
		}
	}
	lo, hi := paginate(w, r, len(list))
	writeJSON(w, http.StatusOK, append([]any{}, list[lo:hi]...))
}

// hasLabels reports whether no label of want is missing from have; labels
// compare without case.
func hasLabels(have, want []string) bool {
	missing := func(wl string) bool {
		return !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, wl) })
	}
	return !slices.ContainsFunc(want, missing)
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Name        string `json:"name"`
		Color       string `json:"color"`
		Description string `json:"description"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeValidation(w, createLabelDoc, map[string]any{"resource": "Label", "code": "missing_field", "field": "name"})
		return
	}
	if rp.labels[strings.ToLower(in.Name)] != nil {
		writeValidation(w, createLabelDoc, map[string]any{"resource": "Label", "code": "already_exists", "field": "name"})
		return
	}
	if in.Color == "" {
		in.Color = "ededed"
	}
	l := &label{id: s.newID(), name: in.Name, color: strings.TrimPrefix(in.Color, "#"), description: in.Description}
	rp.labels[strings.ToLower(in.Name)] = l
	writeJSON(w, http.StatusCreated, s.labelJSON(rp, l))
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request, rp *repo) {
	l := rp.labels[strings.ToLower(r.PathValue("name"))]
	if l == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.labelJSON(rp, l))
}

// listInstallations serves GET /app/installations.
func (s *Server) listInstallations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	for _, id := range s.installIDs() {
		list = append(list, s.installationJSON(s.installs[id]))
	}
	lo, hi := paginate(w, r, len(list))
	writeJSON(w, http.StatusOK, append([]any{}, list[lo:hi]...))
}
