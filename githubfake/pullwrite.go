package githubfake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	createPullDoc     = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
	updatePullDoc     = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request"
	commitCommentsDoc = "https://docs.github.com/rest/commits/comments#create-a-commit-comment"
)

// releaseRoutes registers what the App needs to release: the Git Data
// API, pull requests it opens, lists and closes, and commit comments.
func (s *Server) releaseRoutes(r route) {
	s.gitDataRoutes(r)
	r("POST", "/pulls", s.createPull)
	r("GET", "/pulls", s.listPulls)
	r("PATCH", "/pulls/{n}", s.updatePull)
	r("POST", "/commits/{sha}/comments", s.createCommitComment)
	r("GET", "/commits/{sha}/comments", s.listCommitComments)
}

// nullable returns nil for "", else s.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// createPull is POST /pulls, as the App: 201, or GitHub's 422s for a
// missing branch, an open pull request of the same head and base, and a
// head without commits over the base. GitHub then sends pull_request
// opened, whose sender is the App's bot.
func (s *Server) createPull(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	invalid := func(field string) {
		writeValidation(w, createPullDoc, map[string]any{"resource": "PullRequest", "field": field, "code": "invalid"})
	}
	custom := func(msg string) {
		writeValidation(w, createPullDoc, map[string]any{"resource": "PullRequest", "code": "custom", "message": msg})
	}
	headRepo, branch := rp, in.Head
	if owner, b, ok := strings.Cut(in.Head, ":"); ok {
		headRepo, branch = s.repos[strings.ToLower(owner+"/"+rp.name)], b
	}
	switch {
	case in.Title == "":
		custom("title is missing")
		return
	case headRepo == nil || branch == "" || s.resolve(headRepo, "refs/heads/"+branch) == "":
		invalid("head")
		return
	case in.Base == "" || s.resolve(rp, "refs/heads/"+in.Base) == "":
		invalid("base")
		return
	}
	for _, pr := range rp.pulls {
		if pr.state == "open" && pr.headRepo == headRepo && pr.headRef == branch && pr.baseRef == in.Base {
			custom("A pull request already exists for " + headRepo.owner + ":" + branch + ".")
			return
		}
	}
	head := s.resolve(headRepo, "refs/heads/"+branch)
	base := s.resolve(rp, "refs/heads/"+in.Base)
	if headRepo == rp && s.isAncestor(rp, head, base) {
		custom("No commits between " + in.Base + " and " + branch)
		return
	}
	pr := &pull{
		number: rp.nextNumber, id: s.newID(), title: in.Title, body: in.Body, author: s.BotLogin(),
		state: "open", draft: in.Draft, headRepo: headRepo, headRepoID: headRepo.id, headRepoName: headRepo.fullName(),
		headRef: branch, headSHA: head, baseRef: in.Base, created: s.now(), updated: s.now(),
	}
	rp.nextNumber++
	rp.pulls[pr.number] = pr
	s.updatePullRef(rp, pr)
	m, err := s.pullJSON(r.Context(), rp, pr, nil, "unknown")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.emitPull("opened", rp, pr, s.BotLogin())
	w.Header().Set("Location", m["url"].(string))
	writeJSON(w, http.StatusCreated, m)
}

// updatePull is PATCH /pulls/{n}: title, body, and state open or closed.
// Closing sends pull_request closed with merged false; reopening sends
// reopened.
func (s *Server) updatePull(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		writeValidation(w, updatePullDoc, map[string]any{"resource": "PullRequest", "field": "state", "code": "invalid"})
		return
	}
	if in.State != nil && *in.State == "open" && pr.merged {
		writeValidation(w, updatePullDoc, map[string]any{"resource": "PullRequest", "code": "custom", "message": "state cannot be changed. The pull request cannot be reopened."})
		return
	}
	if in.Title != nil {
		pr.title = *in.Title
	}
	if in.Body != nil {
		pr.body = *in.Body
	}
	pr.updated = s.now()
	action := ""
	if in.State != nil && *in.State != pr.state {
		pr.state = *in.State
		action = "reopened"
		pr.closed = time.Time{}
		if pr.state == "closed" {
			action = "closed"
			pr.closed = s.now()
		}
	}
	m, err := s.pullJSON(r.Context(), rp, pr, nil, "unknown")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if action != "" {
		s.emitPull(action, rp, pr, s.BotLogin())
	}
	writeJSON(w, http.StatusOK, m)
}

// listPulls is GET /pulls: state open (the default), closed or all, head
// "owner:branch" and base filters, newest first, paginated.
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var out []*pull
	for _, n := range sortedPulls(rp) {
		pr := rp.pulls[n]
		switch {
		case state != "all" && pr.state != state:
		case q.Get("base") != "" && pr.baseRef != q.Get("base"):
		case q.Get("head") != "" && !strings.EqualFold(q.Get("head"), strings.SplitN(pr.headRepoName, "/", 2)[0]+":"+pr.headRef):
		default:
			out = append(out, pr)
		}
	}
	slices.Reverse(out)
	lo, hi := paginate(w, r, len(out))
	list := []any{}
	for _, pr := range out[lo:hi] {
		m, err := s.pullJSON(r.Context(), rp, pr, nil, "unknown")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		list = append(list, m)
	}
	writeJSON(w, http.StatusOK, list)
}

// CommitComment is a comment on a commit.
type CommitComment struct {
	ID        int64
	Repo      string
	SHA       string
	User      string
	Body      string
	CreatedAt time.Time
}

// CommitComments returns the comments on a commit of a repository, oldest
// first.
func (s *Server) CommitComments(fullName, sha string) []CommitComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return filter(s.commitComments, func(c CommitComment) bool { return strings.EqualFold(c.Repo, fullName) && c.SHA == sha })
}

// commitCommentJSON returns GitHub's commit-comment object. The caller
// holds mu.
func (s *Server) commitCommentJSON(rp *repo, c CommitComment) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName()
	ts := c.CreatedAt.Format(time.RFC3339)
	return map[string]any{
		"id": c.ID, "node_id": nodeID("CC_kwDO", c.ID),
		"url":      api + "/comments/" + strconv.FormatInt(c.ID, 10),
		"html_url": s.srv.URL + "/" + rp.fullName() + "/commit/" + c.SHA + "#commitcomment-" + strconv.FormatInt(c.ID, 10),
		"body":     c.Body, "path": nil, "position": nil, "line": nil, "commit_id": c.SHA,
		"user": s.userJSON(c.User), "created_at": ts, "updated_at": ts,
		"author_association": s.association(rp, c.User), "reactions": map[string]any{"total_count": 0},
	}
}

// createCommitComment is POST /commits/{sha}/comments, as the App: 201,
// 422 when body is missing or too long or the commit does not exist.
func (s *Server) createCommitComment(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := r.PathValue("sha")
	body, ok := s.commentBody(w, r, commitCommentsDoc)
	if !ok {
		return
	}
	if s.objectType(rp, sha) != "commit" {
		writeValidation(w, commitCommentsDoc, map[string]any{"resource": "CommitComment", "field": "commit_id", "code": "invalid", "message": "No commit found for SHA: " + sha})
		return
	}
	c := CommitComment{ID: s.newID(), Repo: rp.fullName(), SHA: sha, User: s.BotLogin(), Body: body, CreatedAt: s.now()}
	s.commitComments = append(s.commitComments, c)
	m := s.commitCommentJSON(rp, c)
	w.Header().Set("Location", m["url"].(string))
	writeJSON(w, http.StatusCreated, m)
}

// listCommitComments is GET /commits/{sha}/comments, oldest first,
// paginated.
func (s *Server) listCommitComments(w http.ResponseWriter, r *http.Request, rp *repo) {
	cs := filter(s.commitComments, func(c CommitComment) bool { return c.Repo == rp.fullName() && c.SHA == r.PathValue("sha") })
	writeJSON(w, http.StatusOK, page(w, r, cs, func(c CommitComment) map[string]any { return s.commitCommentJSON(rp, c) }))
}

// EditPRBody replaces a pull request's description, as a person editing
// it would.
func (s *Server) EditPRBody(fullName string, n int, body string) {
	s.t.Helper()
	s.withPull(fullName, n, func(_ *repo, pr *pull) {
		pr.body = body
		pr.updated = s.now()
	})
}
