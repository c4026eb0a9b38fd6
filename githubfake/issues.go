package githubfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// comment is one issue comment. Its fields are guarded by Server.mu.
type comment struct {
	id               int64
	repo             *repo
	issue            int
	user, body       string
	viaApp           bool
	created, updated time.Time
}

// Comment is a snapshot of an issue comment.
type Comment struct {
	ID     int64
	NodeID string
	// Repo is the repository's full name and Issue the PR number.
	Repo  string
	Issue int
	User  string
	Body  string
	// ViaApp reports whether the App wrote the comment.
	ViaApp    bool
	HTMLURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CommentWrite is one create, edit or delete of an issue comment.
type CommentWrite struct {
	// Op is "create", "edit" or "delete".
	Op    string
	ID    int64
	Repo  string
	Issue int
	User  string
	// Body is the body written ("" for deletes).
	Body string
	At   time.Time
}

// Reaction is a reaction on an issue comment.
type Reaction struct {
	ID        int64
	CommentID int64
	User      string
	Content   string
	CreatedAt time.Time
}

func (s *Server) snapshotComment(c *comment) Comment {
	return Comment{
		ID: c.id, NodeID: nodeID("IC_kwDO", c.id), Repo: c.repo.fullName(), Issue: c.issue,
		User: c.user, Body: c.body, ViaApp: c.viaApp, HTMLURL: s.commentHTML(c),
		CreatedAt: c.created, UpdatedAt: c.updated,
	}
}

func (s *Server) commentHTML(c *comment) string {
	return fmt.Sprintf("%s/%s/pull/%d#issuecomment-%d", s.srv.URL, c.repo.fullName(), c.issue, c.id)
}

// AddComment writes a human's comment on a pull request and returns it.
func (s *Server) AddComment(fullName string, pr int, user, body string) Comment {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, _ := s.mustPull(fullName, pr)
	return s.snapshotComment(s.addComment(rp, pr, user, body, false))
}

// addComment creates a comment. The caller holds mu.
func (s *Server) addComment(rp *repo, issue int, user, body string, viaApp bool) *comment {
	c := &comment{id: s.newCommentID(), repo: rp, issue: issue, user: user, body: body, viaApp: viaApp, created: s.now(), updated: s.now()}
	s.userID(user)
	s.comments[c.id] = c
	s.history = append(s.history, CommentWrite{Op: "create", ID: c.id, Repo: rp.fullName(), Issue: issue, User: user, Body: body, At: c.created})
	return c
}

// newCommentID returns an increasing comment id in GitHub's range. The
// caller holds mu.
func (s *Server) newCommentID() int64 { return 2_000_000_000 + s.newID() }

// Comments returns the comments of a pull request or an issue (on
// GitHub a pull request is an issue) in ascending id order.
func (s *Server) Comments(fullName string, pr int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	var out []Comment
	for _, c := range s.issueComments(rp, pr) {
		out = append(out, s.snapshotComment(c))
	}
	return out
}

// CommentHistory returns every create, edit and delete of comments on a
// pull request, in order.
func (s *Server) CommentHistory(fullName string, pr int) []CommentWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return filter(s.history, func(h CommentWrite) bool { return strings.EqualFold(h.Repo, fullName) && h.Issue == pr })
}

// Reactions returns the reactions on a comment in creation order.
func (s *Server) Reactions(commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return filter(s.reactions, func(r Reaction) bool { return r.CommentID == commentID })
}

// issueComments returns the comments of an issue by ascending id. The
// caller holds mu.
func (s *Server) issueComments(rp *repo, issue int) []*comment {
	var cs []*comment
	for _, c := range s.comments {
		if c.repo == rp && c.issue == issue {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
	return cs
}

func (s *Server) countComments(rp *repo, issue int) int { return len(s.issueComments(rp, issue)) }

// association returns a user's author_association. The caller holds mu.
func (s *Server) association(rp *repo, login string) string {
	if strings.EqualFold(login, rp.owner) {
		return "OWNER"
	}
	if _, ok := s.collabs[strings.ToLower(rp.fullName())][strings.ToLower(login)]; ok {
		return "COLLABORATOR"
	}
	return "NONE"
}

// commentJSON returns the issue-comment object. The caller holds mu.
func (s *Server) commentJSON(c *comment) map[string]any {
	api := s.APIURL() + "repos/" + c.repo.fullName()
	var app any
	if c.viaApp {
		app = s.appJSON()
	}
	rollup := map[string]any{"url": fmt.Sprintf("%s/issues/comments/%d/reactions", api, c.id), "total_count": 0,
		"+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0}
	for _, r := range s.reactions {
		if r.CommentID == c.id {
			rollup[r.Content] = rollup[r.Content].(int) + 1
			rollup["total_count"] = rollup["total_count"].(int) + 1
		}
	}
	return map[string]any{
		"id":                       c.id,
		"node_id":                  nodeID("IC_kwDO", c.id),
		"url":                      fmt.Sprintf("%s/issues/comments/%d", api, c.id),
		"html_url":                 s.commentHTML(c),
		"issue_url":                fmt.Sprintf("%s/issues/%d", api, c.issue),
		"body":                     c.body,
		"user":                     s.userJSON(c.user),
		"created_at":               c.created.Format(time.RFC3339),
		"updated_at":               c.updated.Format(time.RFC3339),
		"author_association":       s.association(c.repo, c.user),
		"performed_via_github_app": app,
		"reactions":                rollup,
	}
}

const (
	createCommentDoc = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
	updateCommentDoc = "https://docs.github.com/rest/issues/comments#update-an-issue-comment"
)

// bodyTooLong reports whether a comment body is over GitHub's limit. The
// caller holds mu.
func (s *Server) bodyTooLong(body string) bool {
	if s.measuredSize {
		return len(body) > 262144
	}
	return utf8.RuneCountInString(body) > 65536
}

// commentBody decodes the {"body": ...} of a create or edit and writes the
// 422 when it is missing or too long.
func (s *Server) commentBody(w http.ResponseWriter, r *http.Request, doc string) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &in) {
		return "", false
	}
	if in.Body == nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.", doc)
		return "", false
	}
	if s.bodyTooLong(*in.Body) {
		writeValidation(w, doc, map[string]any{"resource": "IssueComment", "code": "unprocessable", "field": "data", "message": "Body is too long (maximum is 65536 characters)"})
		return "", false
	}
	return *in.Body, true
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, rp *repo) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	if !isIssue(rp, n) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	cs := s.issueComments(rp, n)
	if since, err := time.Parse(time.RFC3339, r.URL.Query().Get("since")); err == nil {
		cs = filter(cs, func(c *comment) bool { return !c.updated.Before(since) })
	}
	writeJSON(w, http.StatusOK, page(w, r, cs, s.commentJSON))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, rp *repo) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	if !isIssue(rp, n) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	body, ok := s.commentBody(w, r, createCommentDoc)
	if !ok {
		return
	}
	c := s.addComment(rp, n, s.BotLogin(), body, true)
	m := s.commentJSON(c)
	w.Header().Set("Location", m["url"].(string))
	writeJSON(w, http.StatusCreated, m)
}

// commentFromPath returns the comment named by the {id} path value.
func (s *Server) commentFromPath(w http.ResponseWriter, r *http.Request, rp *repo) *comment {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	c := s.comments[id]
	if c == nil || c.repo != rp {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return c
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.commentFromPath(w, r, rp)
	if c == nil {
		return
	}
	if !c.viaApp {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	body, ok := s.commentBody(w, r, updateCommentDoc)
	if !ok {
		return
	}
	c.body = body
	c.updated = s.now()
	s.history = append(s.history, CommentWrite{Op: "edit", ID: c.id, Repo: rp.fullName(), Issue: c.issue, User: s.BotLogin(), Body: body, At: c.updated})
	writeJSON(w, http.StatusOK, s.commentJSON(c))
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.commentFromPath(w, r, rp)
	if c == nil {
		return
	}
	delete(s.comments, c.id)
	s.history = append(s.history, CommentWrite{Op: "delete", ID: c.id, Repo: rp.fullName(), Issue: c.issue, User: s.BotLogin(), At: s.now()})
	w.WriteHeader(http.StatusNoContent)
}

// validReaction reports whether content is a reaction GitHub accepts.
func validReaction(content string) bool {
	switch content {
	case "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes":
		return true
	}
	return false
}

func (s *Server) reactionJSON(re Reaction) map[string]any {
	return map[string]any{"id": re.ID, "node_id": nodeID("REA_lATO", re.ID), "user": s.userJSON(re.User), "content": re.Content, "created_at": re.CreatedAt.Format(time.RFC3339)}
}

func (s *Server) createReaction(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.commentFromPath(w, r, rp)
	if c == nil {
		return
	}
	var in struct {
		Content string `json:"content"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	const doc = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment"
	if !validReaction(in.Content) {
		writeValidation(w, doc, map[string]any{"resource": "Reaction", "code": "invalid", "field": "content"})
		return
	}
	user := s.BotLogin()
	for _, re := range s.reactions {
		if re.CommentID == c.id && re.User == user && re.Content == in.Content {
			writeJSON(w, http.StatusOK, s.reactionJSON(re))
			return
		}
	}
	re := Reaction{ID: s.newID(), CommentID: c.id, User: user, Content: in.Content, CreatedAt: s.now()}
	s.reactions = append(s.reactions, re)
	writeJSON(w, http.StatusCreated, s.reactionJSON(re))
}

func (s *Server) listReactions(w http.ResponseWriter, r *http.Request, rp *repo) {
	c := s.commentFromPath(w, r, rp)
	if c == nil {
		return
	}
	list := filter(s.reactions, func(re Reaction) bool {
		return re.CommentID == c.id && (r.URL.Query().Get("content") == "" || re.Content == r.URL.Query().Get("content"))
	})
	writeJSON(w, http.StatusOK, page(w, r, list, s.reactionJSON))
}
