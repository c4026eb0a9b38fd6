package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// checksDoc is the documentation_url of the Checks API's errors.
const checksDoc = "https://docs.github.com/rest/checks/runs"

// The Checks API's limits (github-reference §3.9, §9.3).
const (
	maxCheckOutput      = 65535
	maxCheckAnnotations = 50
	maxCheckActions     = 3
	maxActionLabel      = 20
	maxActionIdentifier = 20
	maxActionDesc       = 40
)

// checkRun is one check run. Its fields are guarded by Server.mu.
type checkRun struct {
	CheckRun
	repo *repo
}

// CheckRun is a snapshot of a check run.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	ExternalID  string
	DetailsURL  string
	Status      string
	Conclusion  string
	StartedAt   time.Time
	CompletedAt time.Time
	Title       string
	Summary     string
	Text        string
	// Annotations are every annotation, in the order the requests added
	// them.
	Annotations []CheckAnnotation
	Actions     []CheckAction
	// Writes counts the create and update requests that changed the run.
	Writes int
}

// CheckAnnotation is an annotation of a check run.
type CheckAnnotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     *int   `json:"start_column,omitempty"`
	EndColumn       *int   `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckAction is a button of a check run.
type CheckAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// checkRunInput is the body of a create or update request.
type checkRunInput struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string           `json:"title"`
		Summary     *string           `json:"summary"`
		Text        *string           `json:"text"`
		Annotations []CheckAnnotation `json:"annotations"`
	} `json:"output"`
	Actions []CheckAction `json:"actions"`
}

// checkRoutes registers the check run routes under /repos/{owner}/{repo}.
func (s *Server) checkRoutes(r func(method, path string, h repoHandler)) {
	r("POST", "/check-runs", s.createCheckRun)
	r("GET", "/check-runs/{id}", getFound(s.checkRunFromPath, s.checkRunJSON))
	r("PATCH", "/check-runs/{id}", s.updateCheckRun)
	r("GET", "/check-runs/{id}/annotations", s.listCheckAnnotations)
	r("GET", "/commits/{ref}/check-runs", s.listCheckRuns)
}

// CheckRuns returns the check runs of a commit, oldest first.
func (s *Server) CheckRuns(fullName, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	var out []CheckRun
	for _, c := range s.checkRuns {
		if c.repo == rp && c.HeadSHA == sha {
			out = append(out, s.snapshotCheckRun(c))
		}
	}
	return out
}

// LatestCheckRun returns the newest check run of a commit with a name, as
// GitHub shows it on the pull request.
func (s *Server) LatestCheckRun(fullName, sha, name string) (CheckRun, bool) {
	runs := s.CheckRuns(fullName, sha)
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Name == name {
			return runs[i], true
		}
	}
	return CheckRun{}, false
}

func (s *Server) snapshotCheckRun(c *checkRun) CheckRun {
	out := c.CheckRun
	out.Annotations = append([]CheckAnnotation(nil), c.Annotations...)
	out.Actions = append([]CheckAction(nil), c.Actions...)
	return out
}

// tooLong writes GitHub's 422 for a text over the limit, counted in UTF-8
// bytes as GitHub does for multi-byte text, and reports whether it did.
func tooLong(w http.ResponseWriter, text *string, limit int) bool {
	if text == nil || len(*text) <= limit {
		return false
	}
	writeErrorDoc(w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nOnly %d characters are allowed; %d were supplied.", limit, len(*text)), checksDoc)
	return true
}

// validCheckInput checks what GitHub checks in a create or update body,
// and writes its 422 when something is wrong.
func validCheckInput(w http.ResponseWriter, in *checkRunInput) bool {
	invalid := func(msg string) bool {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+msg, checksDoc)
		return false
	}
	if in.Status != nil {
		switch *in.Status {
		case "queued", "in_progress", "completed":
		default:
			return invalid(fmt.Sprintf("%q is not a member of [\"queued\", \"in_progress\", \"completed\"].", *in.Status))
		}
	}
	if in.Conclusion != nil {
		switch *in.Conclusion {
		case "action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out":
		case "stale":
			return invalid("You cannot change a check run conclusion to stale.")
		default:
			return invalid(fmt.Sprintf("%q is not a valid conclusion.", *in.Conclusion))
		}
	}
	for _, t := range []*string{in.StartedAt, in.CompletedAt} {
		if t == nil {
			continue
		}
		if _, err := time.Parse(time.RFC3339, *t); err != nil {
			return invalid(fmt.Sprintf("%q is not an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SSZ).", *t))
		}
	}
	if ((in.Status != nil && *in.Status == "completed") || in.CompletedAt != nil) && in.Conclusion == nil {
		return invalid("No conclusion was supplied: a completed check run needs one.")
	}
	if o := in.Output; o != nil {
		if o.Title == nil || o.Summary == nil {
			return invalid("\"title\" and \"summary\" are required keys of \"output\".")
		}
		if tooLong(w, o.Summary, maxCheckOutput) || tooLong(w, o.Text, maxCheckOutput) {
			return false
		}
		if n := len(o.Annotations); n > maxCheckAnnotations {
			return invalid(fmt.Sprintf("No more than %d items are allowed; %d were supplied.", maxCheckAnnotations, n))
		}
		for _, a := range o.Annotations {
			if msg := annotationProblem(a); msg != "" {
				return invalid(msg)
			}
		}
	}
	if n := len(in.Actions); n > maxCheckActions {
		return invalid(fmt.Sprintf("No more than %d items are allowed; %d were supplied.", maxCheckActions, n))
	}
	for _, a := range in.Actions {
		for _, f := range []struct {
			v   string
			max int
		}{{a.Label, maxActionLabel}, {a.Identifier, maxActionIdentifier}, {a.Description, maxActionDesc}} {
			if n := utf8.RuneCountInString(f.v); n > f.max || n == 0 {
				return invalid(fmt.Sprintf("Only %d characters are allowed; %d were supplied.", f.max, n))
			}
		}
	}
	return true
}

// annotationProblem returns what is wrong with an annotation, "" when
// nothing is.
func annotationProblem(a CheckAnnotation) string {
	switch {
	case a.Path == "" || a.Message == "" || a.StartLine < 1 || a.EndLine < 1:
		return "\"path\", \"start_line\", \"end_line\", \"annotation_level\" and \"message\" are required keys of an annotation."
	case a.EndLine < a.StartLine:
		return "end_line must not be before start_line."
	case (a.StartColumn != nil || a.EndColumn != nil) && a.StartLine != a.EndLine:
		return "start_column and end_column may only be given when start_line and end_line are the same."
	}
	switch a.AnnotationLevel {
	case "notice", "warning", "failure":
		return ""
	}
	return fmt.Sprintf("%q is not a member of [\"notice\", \"warning\", \"failure\"].", a.AnnotationLevel)
}

// apply sets the fields a request gives on a run.
func (s *Server) applyCheckInput(c *checkRun, in *checkRunInput) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Name, in.Name)
	set(&c.DetailsURL, in.DetailsURL)
	set(&c.ExternalID, in.ExternalID)
	set(&c.Status, in.Status)
	if in.StartedAt != nil {
		c.StartedAt, _ = time.Parse(time.RFC3339, *in.StartedAt) // validated
	}
	if in.Conclusion != nil {
		// A conclusion completes the run.
		c.Conclusion, c.Status = *in.Conclusion, "completed"
		c.CompletedAt = s.now()
		if in.CompletedAt != nil {
			c.CompletedAt, _ = time.Parse(time.RFC3339, *in.CompletedAt)
		}
	}
	if c.Status != "queued" && c.StartedAt.IsZero() {
		// A run that starts, or is created completed, without a
		// started_at started now.
		c.StartedAt = s.now()
	}
	// GitHub keeps the times of a run to the second.
	c.StartedAt, c.CompletedAt = c.StartedAt.Truncate(time.Second), c.CompletedAt.Truncate(time.Second)
	if o := in.Output; o != nil {
		set(&c.Title, o.Title)
		set(&c.Summary, o.Summary)
		set(&c.Text, o.Text)
		// Annotations are appended across updates.
		c.Annotations = append(c.Annotations, o.Annotations...)
	}
	if in.Actions != nil {
		c.Actions = append([]CheckAction(nil), in.Actions...)
	}
	c.Writes++
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	const doc = "https://docs.github.com/rest/checks/runs#create-a-check-run"
	var in checkRunInput
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.Name == nil || strings.TrimSpace(*in.Name) == "":
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"name\" wasn't supplied.", doc)
		return
	case in.HeadSHA == nil:
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"head_sha\" wasn't supplied.", doc)
		return
	case !isFullSHA(*in.HeadSHA) || s.resolve(rp, *in.HeadSHA) != *in.HeadSHA:
		writeValidation(w, doc, map[string]any{"resource": "CheckRun", "code": "invalid", "field": "head_sha"})
		return
	}
	if !validCheckInput(w, &in) {
		return
	}
	c := &checkRun{CheckRun: CheckRun{ID: s.newID(), HeadSHA: *in.HeadSHA, Status: "queued"}, repo: rp}
	s.applyCheckInput(c, &in)
	s.checkRuns = append(s.checkRuns, c)
	writeJSON(w, http.StatusCreated, s.checkRunJSON(c))
}

// checkRunFromPath returns the run of the {id} path value of the
// repository, or writes a 404.
func (s *Server) checkRunFromPath(w http.ResponseWriter, r *http.Request, rp *repo) *checkRun {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		for _, c := range s.checkRuns {
			if c.ID == id && c.repo == rp {
				return c
			}
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.checkRunFromPath(w, r, rp)
	if c == nil {
		return
	}
	var in checkRunInput
	if !decodeBody(w, r, &in) || !validCheckInput(w, &in) {
		return
	}
	s.applyCheckInput(c, &in)
	writeJSON(w, http.StatusOK, s.checkRunJSON(c))
}

func (s *Server) listCheckAnnotations(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.checkRunFromPath(w, r, rp)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, page(w, r, c.Annotations, func(a CheckAnnotation) map[string]any {
		var m map[string]any
		b, _ := json.Marshal(a)
		_ = json.Unmarshal(b, &m)
		m["blob_href"] = s.srv.URL + "/" + rp.fullName() + "/blob/" + c.HeadSHA + "/" + a.Path
		return m
	}))
}

// listCheckRuns lists the check runs of a ref: with filter=latest (the
// default) the newest run of each name, with filter=all every run;
// check_name and status narrow the list.
func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := s.refSHA(w, r, rp)
	if sha == "" {
		return
	}
	q := r.URL.Query()
	latest := q.Get("filter") != "all"
	seen := map[string]bool{}
	var list []*checkRun
	for i := len(s.checkRuns) - 1; i >= 0; i-- {
		c := s.checkRuns[i]
		switch {
		case c.repo != rp || c.HeadSHA != sha:
		case q.Get("check_name") != "" && c.Name != q.Get("check_name"):
		case q.Get("status") != "" && c.Status != q.Get("status"):
		case latest && seen[c.Name]:
		default:
			seen[c.Name] = true
			list = append(list, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "check_runs": page(w, r, list, s.checkRunJSON)})
}

// checkRunJSON returns GitHub's check-run object, which does not show the
// run's buttons (see CheckRuns). The caller holds mu.
func (s *Server) checkRunJSON(c *checkRun) map[string]any {
	rp := c.repo
	api := s.APIURL() + "repos/" + rp.fullName()
	url := api + "/check-runs/" + strconv.FormatInt(c.ID, 10)
	conclusion := nullable(c.Conclusion)
	prs := s.checkPulls(rp, c.HeadSHA)
	return map[string]any{
		"id":           c.ID,
		"node_id":      nodeID("CR_kwDO", c.ID),
		"name":         c.Name,
		"head_sha":     c.HeadSHA,
		"external_id":  c.ExternalID,
		"url":          url,
		"html_url":     s.srv.URL + "/" + rp.fullName() + "/runs/" + strconv.FormatInt(c.ID, 10),
		"details_url":  nullable(c.DetailsURL),
		"status":       c.Status,
		"conclusion":   conclusion,
		"started_at":   timeOrNil(c.StartedAt),
		"completed_at": timeOrNil(c.CompletedAt),
		"output": map[string]any{
			"title": nullable(c.Title), "summary": nullable(c.Summary), "text": nullable(c.Text),
			"annotations_count": len(c.Annotations), "annotations_url": url + "/annotations",
		},
		"check_suite": map[string]any{
			"id": rp.id*1000 + 1, "node_id": nodeID("CS_kwDO", rp.id*1000+1), "head_branch": s.headBranch(rp, c.HeadSHA),
			"head_sha": c.HeadSHA, "status": c.Status, "conclusion": conclusion, "url": api + "/check-suites/" + strconv.FormatInt(rp.id*1000+1, 10),
			"pull_requests": prs, "app": s.appJSON(),
		},
		"app":           s.appJSON(),
		"pull_requests": prs,
	}
}

// headBranch returns the branch of the repository's open pull request
// whose head is sha, or nil.
func (s *Server) headBranch(rp *repo, sha string) any {
	for _, n := range sortedPulls(rp) {
		if pr := rp.pulls[n]; pr.headSHA == sha && pr.headRepo == rp {
			return pr.headRef
		}
	}
	return nil
}

// checkPulls returns the pull_requests of a check run or suite of sha: the
// repository's open pull requests whose head is sha on a branch of the
// repository itself. A fork's branch is not detected, as on GitHub.
// The caller holds mu.
func (s *Server) checkPulls(rp *repo, sha string) []any {
	out := []any{}
	api := s.APIURL() + "repos/"
	mini := func(r *repo) map[string]any {
		return map[string]any{"id": r.id, "url": api + r.fullName(), "name": r.name}
	}
	for _, n := range sortedPulls(rp) {
		pr := rp.pulls[n]
		if pr.headSHA != sha || pr.headRepo != rp || pr.state != "open" {
			continue
		}
		out = append(out, map[string]any{
			"url": api + rp.fullName() + "/pulls/" + strconv.Itoa(n), "id": pr.id, "number": n,
			"head": map[string]any{"ref": pr.headRef, "sha": pr.headSHA, "repo": mini(rp)},
			"base": map[string]any{"ref": pr.baseRef, "sha": s.resolve(rp, "refs/heads/"+pr.baseRef), "repo": mini(rp)},
		})
	}
	return out
}

// AddCheckRun adds a check run as another App (or a test) made it, without
// a request, and returns its id. Name and HeadSHA are required; Status
// defaults to completed.
func (s *Server) AddCheckRun(fullName string, run CheckRun) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	if run.Name == "" || s.resolve(rp, run.HeadSHA) != run.HeadSHA {
		s.t.Fatalf("githubfake: AddCheckRun needs a name and a commit of %s", fullName)
	}
	c := &checkRun{CheckRun: run, repo: rp}
	c.ID = s.newID()
	if c.Status == "" {
		c.Status = "completed"
	}
	s.checkRuns = append(s.checkRuns, c)
	return c.ID
}
