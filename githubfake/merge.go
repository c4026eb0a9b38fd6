package githubfake

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// mergeTree test-merges head into base and returns the tree and whether
// it is clean. The caller holds mu.
func (s *Server) mergeTree(ctx context.Context, rp *repo, base, head string) (string, bool, error) {
	out, err := s.git(ctx, rp.dir, nil, nil, "merge-tree", "--write-tree", base, head)
	tree, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if err != nil {
		if exitCode(err) == 1 {
			return tree, false, nil
		}
		return "", false, err
	}
	return tree, true, nil
}

// mergeability returns the mergeable value and mergeable_state of a pull
// request as a REST read sees them: unknown on the first read after its
// head or base moved. The caller holds mu.
func (s *Server) mergeability(ctx context.Context, rp *repo, pr *pull) (*bool, string, error) {
	if pr.merged || pr.state == "closed" {
		return nil, "unknown", nil
	}
	base := s.resolve(rp, "refs/heads/"+pr.baseRef)
	key := base + ".." + pr.headSHA
	if pr.mergeKey != key {
		pr.mergeKey = key
		return nil, "unknown", nil
	}
	_, clean, err := s.mergeTree(ctx, rp, base, pr.headSHA)
	if err != nil {
		return nil, "", err
	}
	state := "clean"
	switch {
	case !clean:
		state = "dirty"
	case pr.draft:
		state = "draft"
	case pr.block != "":
		state = "blocked"
	case s.combined(rp, pr.headSHA) == "failure":
		state = "unstable"
	}
	return &clean, state, nil
}

func (s *Server) checkMerged(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	if !pr.merged {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mergeRequest is the body of PUT /repos/{owner}/{repo}/pulls/{n}/merge.
type mergeRequest struct {
	SHA           string `json:"sha"`
	MergeMethod   string `json:"merge_method"`
	CommitTitle   string `json:"commit_title"`
	CommitMessage string `json:"commit_message"`
}

// mergePull is PUT /repos/{owner}/{repo}/pulls/{n}/merge: refusals as
// GitHub words them, then a merge commit (or squash/rebase commit) moved
// onto the base branch only if the branch has not moved meanwhile.
func (s *Server) mergePull(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	var body mergeRequest
	if !decodeBody(w, r, &body) {
		return
	}
	if body.MergeMethod == "" {
		body.MergeMethod = "merge"
	}
	if !mergeAllowed(w, rp, pr, body) {
		return
	}
	if msg := s.requiredChecksMissing(rp, pr); msg != "" {
		writeErrorDoc(w, http.StatusMethodNotAllowed, msg, mergeDoc)
		return
	}
	ctx := r.Context()
	base := s.resolve(rp, "refs/heads/"+pr.baseRef)
	tree, clean, err := s.mergeTree(ctx, rp, base, pr.headSHA)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !clean {
		writeErrorDoc(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", mergeDoc)
		return
	}
	sha, err := s.commitMerge(ctx, rp, pr, body, tree, base)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if _, err := s.git(ctx, rp.dir, nil, nil, "update-ref", "refs/heads/"+pr.baseRef, sha, base); err != nil {
		writeErrorDoc(w, http.StatusMethodNotAllowed, "Base branch was modified. Review and try the merge again.", mergeDoc)
		return
	}
	pr.state, pr.merged = "closed", true
	pr.mergeCommitSHA = sha
	pr.mergedBy = s.BotLogin()
	pr.mergedT, pr.closed, pr.updated = s.now(), s.now(), s.now()
	s.syncPulls(rp, pr.baseRef)
	s.mergedEvents(rp, pr, base)
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// mergeAllowed writes GitHub's refusal and reports false when the merge
// cannot happen: a method the repository forbids or does not know, a
// closed, draft or blocked pull request, or a head that moved past sha.
func mergeAllowed(w http.ResponseWriter, rp *repo, pr *pull, body mergeRequest) bool {
	switch body.MergeMethod {
	case "merge", "squash", "rebase":
		if rp.disallowed[body.MergeMethod] {
			msg := map[string]string{
				"merge":  "Merge commits are not allowed on this repository.",
				"squash": "Squash merges are not allowed on this repository.",
				"rebase": "Rebase merges are not allowed on this repository.",
			}[body.MergeMethod]
			writeErrorDoc(w, http.StatusMethodNotAllowed, msg, mergeDoc)
			return false
		}
	default:
		writeValidation(w, mergeDoc, map[string]any{"resource": "PullRequest", "field": "merge_method", "code": "invalid", "value": body.MergeMethod})
		return false
	}
	switch {
	case pr.state != "open" || pr.merged:
		writeErrorDoc(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", mergeDoc)
	case body.SHA != "" && body.SHA != pr.headSHA:
		writeErrorDoc(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.", mergeDoc)
	case pr.draft:
		writeErrorDoc(w, http.StatusMethodNotAllowed, "Pull Request is still a draft", mergeDoc)
	case pr.block != "":
		writeErrorDoc(w, http.StatusMethodNotAllowed, pr.block, mergeDoc)
	default:
		return true
	}
	return false
}

// RequireStatusChecks makes branch protection of branch require the
// commit status contexts before a merge into it: GitHub refuses to merge a
// pull request whose head lacks a success status of each (contexts compare
// case-insensitively). No contexts lifts the requirement.
func (s *Server) RequireStatusChecks(fullName, branch string, contexts ...string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	if rp.required == nil {
		rp.required = map[string][]string{}
	}
	rp.required[branch] = contexts
}

// requiredChecksMissing returns GitHub's 405 message when the head of pr
// lacks a success status of a context that its base branch requires, ""
// when none is missing. The caller holds mu.
func (s *Server) requiredChecksMissing(rp *repo, pr *pull) string {
	required := rp.required[pr.baseRef]
	success := map[string]bool{}
	for _, st := range s.latestStatuses(rp, pr.headSHA) {
		success[strings.ToLower(st.Context)] = st.State == "success"
	}
	var missing []string
	for _, c := range required {
		if !success[strings.ToLower(c)] {
			missing = append(missing, c)
		}
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("Required status check %q is expected.", missing[0])
	}
	return fmt.Sprintf("%d of %d required status checks are expected.", len(missing), len(required))
}

// commitMerge writes the commit of the merge, with GitHub's default title
// and message for the method, and returns its sha.
func (s *Server) commitMerge(ctx context.Context, rp *repo, pr *pull, body mergeRequest, tree, base string) (string, error) {
	title := body.CommitTitle
	args := []string{"commit-tree", tree, "-p", base}
	if body.MergeMethod == "merge" {
		if title == "" {
			title = fmt.Sprintf("Merge pull request #%d from %s:%s", pr.number, strings.SplitN(pr.headRepoName, "/", 2)[0], pr.headRef)
		}
		args = append(args, "-p", pr.headSHA)
	} else if title == "" {
		title = fmt.Sprintf("%s (#%d)", pr.title, pr.number)
	}
	msg := title
	if body.CommitMessage != "" {
		msg += "\n\n" + body.CommitMessage
	} else if body.MergeMethod == "merge" {
		msg += "\n\n" + pr.title
	}
	args = append(args, "-m", msg)
	when := s.now().Format(time.RFC3339)
	out, err := s.git(ctx, rp.dir, nil, []string{"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when}, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}
