package githubfake

import (
	"fmt"
	"net/http"
	"time"
)

type review struct {
	id                    int64
	user, state, commitID string
	body                  string
	submitted             time.Time
}

// SubmitReview submits a review (state APPROVED, CHANGES_REQUESTED or
// COMMENTED) by user on commitID ("" for the current head) and returns its
// id.
func (s *Server) SubmitReview(fullName string, n int, user, state, commitID string) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pr := s.mustPull(fullName, n)
	switch state {
	case "APPROVED", "CHANGES_REQUESTED", "COMMENTED":
	default:
		s.t.Fatalf("githubfake: bad review state %q", state)
	}
	if commitID == "" {
		commitID = pr.headSHA
	}
	rv := &review{id: s.newID(), user: user, state: state, commitID: commitID, submitted: s.now()}
	s.userID(user)
	pr.reviews = append(pr.reviews, rv)
	return rv.id
}

// DismissReview dismisses a review; its state becomes DISMISSED.
func (s *Server) DismissReview(fullName string, n int, id int64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pr := s.mustPull(fullName, n)
	for _, rv := range pr.reviews {
		if rv.id == id {
			rv.state = "DISMISSED"
			return
		}
	}
	s.t.Fatalf("githubfake: no review %d on %s#%d", id, fullName, n)
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	writeJSON(w, http.StatusOK, page(w, r, pr.reviews, func(rv *review) map[string]any {
		html := fmt.Sprintf("%s/%s/pull/%d#pullrequestreview-%d", s.srv.URL, rp.fullName(), pr.number, rv.id)
		return map[string]any{
			"id":                 rv.id,
			"node_id":            nodeID("PRR_kwDO", rv.id),
			"user":               s.userJSON(rv.user),
			"body":               rv.body,
			"state":              rv.state,
			"html_url":           html,
			"pull_request_url":   fmt.Sprintf("%srepos/%s/pulls/%d", s.APIURL(), rp.fullName(), pr.number),
			"author_association": s.association(rp, rv.user),
			"submitted_at":       rv.submitted.Format(time.RFC3339),
			"commit_id":          rv.commitID,
		}
	}))
}
