package githubfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Documentation URLs of the Git Data API's error bodies.
const (
	blobsDoc   = "https://docs.github.com/rest/git/blobs#create-a-blob"
	treesDoc   = "https://docs.github.com/rest/git/trees#create-a-tree"
	commitsDoc = "https://docs.github.com/rest/git/commits#create-a-commit"
	refsDoc    = "https://docs.github.com/rest/git/refs#create-a-reference"
	updateDoc  = "https://docs.github.com/rest/git/refs#update-a-reference"
)

// route registers a handler of a route under /repos/{owner}/{repo}.
type route func(method, path string, h repoHandler)

// gitDataRoutes registers the Git Data API (blobs, trees, commits, refs),
// with which the App commits without a clone.
func (s *Server) gitDataRoutes(r route) {
	r("POST", "/git/blobs", s.createBlob)
	r("POST", "/git/trees", s.createTree)
	r("POST", "/git/commits", s.createCommit)
	r("POST", "/git/refs", s.createRef)
	r("PATCH", "/git/refs/{ref...}", s.updateRef)
	r("GET", "/git/commits/{sha}", s.getGitCommit)
	r("GET", "/compare/{basehead...}", s.compare)
}

// getGitCommit is GET /git/commits/{sha}: the commit's tree and parents.
func (s *Server) getGitCommit(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := r.PathValue("sha")
	if s.objectType(rp, sha) != "commit" {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/commits#get-a-commit-object")
		return
	}
	out, err := s.git(r.Context(), rp.dir, nil, nil, "log", "-1", "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
	f := strings.SplitN(out, "\x00", 9)
	if err != nil || len(f) < 9 {
		writeError(w, http.StatusInternalServerError, fmt.Sprint(err))
		return
	}
	api := s.APIURL() + "repos/" + rp.fullName() + "/git/"
	parents := []any{}
	for _, p := range strings.Fields(f[1]) {
		parents = append(parents, map[string]any{"sha": p, "url": api + "commits/" + p})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "url": api + "commits/" + sha, "html_url": s.srv.URL + "/" + rp.fullName() + "/commit/" + sha,
		"author":    gitActor{Name: f[2], Email: f[3], Date: f[4]},
		"committer": gitActor{Name: f[5], Email: f[6], Date: f[7]},
		"message":   strings.TrimRight(f[8], "\n"),
		"tree":      map[string]any{"sha": f[0], "url": api + "trees/" + f[0]},
		"parents":   parents,
	})
}

// compare is GET /compare/{base}...{head}: status ahead, behind, identical
// or diverged, the counts, and the commits of head not in base (at most
// 250, oldest first).
func (s *Server) compare(w http.ResponseWriter, r *http.Request, rp *repo) {
	base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
	b, h := s.resolveRef(rp, base), s.resolveRef(rp, head)
	if !ok || b == "" || h == "" {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/commits/commits#compare-two-commits")
		return
	}
	count := func(rng string) int {
		out, _ := s.git(r.Context(), rp.dir, nil, nil, "rev-list", "--count", rng)
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n
	}
	ahead, behind := count(b+".."+h), count(h+".."+b)
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	mb, _ := s.git(r.Context(), rp.dir, nil, nil, "merge-base", b, h)
	out, _ := s.git(r.Context(), rp.dir, nil, nil, "rev-list", "--reverse", "--max-count=250", b+".."+h)
	commits := []any{}
	for _, c := range strings.Fields(out) {
		commits = append(commits, map[string]any{"sha": c, "url": s.APIURL() + "repos/" + rp.fullName() + "/commits/" + c})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":      s.APIURL() + "repos/" + rp.fullName() + "/compare/" + base + "..." + head,
		"html_url": s.srv.URL + "/" + rp.fullName() + "/compare/" + base + "..." + head,
		"status":   status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
		"base_commit":       map[string]any{"sha": b},
		"merge_base_commit": map[string]any{"sha": strings.TrimSpace(mb)},
		"commits":           commits, "files": []any{},
	})
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// objectType returns the type of the object sha of rp ("blob", "tree",
// "commit", "tag"), or "" when there is none. The caller holds mu.
func (s *Server) objectType(rp *repo, sha string) string {
	if !shaRE.MatchString(sha) {
		return ""
	}
	out, err := s.git(s.t.Context(), rp.dir, nil, nil, "cat-file", "-t", sha)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func (s *Server) createBlob(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Content == nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"content\" wasn't supplied.", blobsDoc)
		return
	}
	data := []byte(*in.Content)
	switch in.Encoding {
	case "", "utf-8":
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(*in.Content, "\n", ""))
		if err != nil {
			writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\nContent is not valid Base64.", blobsDoc)
			return
		}
		data = b
	default:
		writeErrorDoc(w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\nencoding %q is not a valid encoding (utf-8, base64).", in.Encoding), blobsDoc)
		return
	}
	sha, err := s.git(r.Context(), rp.dir, data, nil, "hash-object", "-w", "--stdin")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sha = strings.TrimSpace(sha)
	url := s.APIURL() + "repos/" + rp.fullName() + "/git/blobs/" + sha
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusCreated, map[string]any{"sha": sha, "url": url})
}

// treeItem is one entry of POST /git/trees. Sha is a raw JSON value so
// that null (delete the path) differs from absent.
type treeItem struct {
	Path    string          `json:"path"`
	Mode    string          `json:"mode"`
	Type    string          `json:"type"`
	SHA     json.RawMessage `json:"sha"`
	Content *string         `json:"content"`
}

// createTree is POST /git/trees: the tree of base_tree (if any) with the
// given blob entries written, added or, with sha null, removed. Only blob
// entries are modelled; others are refused as invalid.
func (s *Server) createTree(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		BaseTree string     `json:"base_tree"`
		Tree     []treeItem `json:"tree"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Tree == nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"tree\" wasn't supplied.", treesDoc)
		return
	}
	if in.BaseTree != "" {
		if t := s.objectType(rp, in.BaseTree); t != "tree" && t != "commit" {
			writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid tree info", treesDoc)
			return
		}
	}
	info, msg := s.treeIndexInfo(r, rp, in.Tree)
	if msg != "" {
		writeErrorDoc(w, http.StatusUnprocessableEntity, msg, treesDoc)
		return
	}
	tree, err := s.writeTree(r, rp, in.BaseTree, info)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, s.treeJSON(r, rp, tree))
}

// treeIndexInfo returns the `git update-index --index-info` lines of the
// entries, writing the blobs of those given by content, or a message
// saying why they are invalid. The caller holds mu.
func (s *Server) treeIndexInfo(r *http.Request, rp *repo, items []treeItem) (string, string) {
	var info strings.Builder
	for _, it := range items {
		p := it.Path
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
			return "", fmt.Sprintf("Invalid tree info: path %q", p)
		}
		if it.Type != "blob" || (it.Mode != "100644" && it.Mode != "100755") {
			return "", fmt.Sprintf("Invalid tree info: %s entries of mode %q are not supported here (blob, 100644 or 100755)", it.Type, it.Mode)
		}
		sha := ""
		switch {
		case string(it.SHA) == "null":
			if it.Content != nil {
				return "", "Invalid tree info: sha null and content together"
			}
			fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), p)
			continue
		case it.SHA != nil && it.Content != nil:
			return "", "Invalid tree info: sha and content together"
		case it.Content != nil:
			out, err := s.git(r.Context(), rp.dir, []byte(*it.Content), nil, "hash-object", "-w", "--stdin")
			if err != nil {
				return "", err.Error()
			}
			sha = strings.TrimSpace(out)
		case it.SHA != nil:
			if err := json.Unmarshal(it.SHA, &sha); err != nil || s.objectType(rp, sha) != "blob" {
				return "", fmt.Sprintf("Invalid tree info: %s is not a blob", string(it.SHA))
			}
		default:
			return "", "Invalid tree info: each entry needs sha or content"
		}
		fmt.Fprintf(&info, "%s %s\t%s\n", it.Mode, sha, p)
	}
	return info.String(), ""
}

// writeTree writes the tree of base (a tree or commit, or none) changed by
// the index info lines, and returns its sha. The caller holds mu.
func (s *Server) writeTree(r *http.Request, rp *repo, base, info string) (string, error) {
	dir, err := os.MkdirTemp(s.root, "index-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(dir, "index")}
	if base != "" {
		if _, err := s.git(r.Context(), rp.dir, nil, env, "read-tree", base); err != nil {
			return "", err
		}
	}
	if _, err := s.git(r.Context(), rp.dir, []byte(info), env, "update-index", "--add", "--remove", "--index-info"); err != nil {
		return "", err
	}
	out, err := s.git(r.Context(), rp.dir, nil, env, "write-tree")
	return strings.TrimSpace(out), err
}

// treeJSON returns the tree object of POST /git/trees, entries listed
// recursively. The caller holds mu.
func (s *Server) treeJSON(r *http.Request, rp *repo, tree string) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName() + "/git/"
	entries := []any{}
	es, _ := s.lsTree(r.Context(), rp, "-r", tree)
	for _, e := range es {
		entries = append(entries, map[string]any{"path": e.path, "mode": e.mode, "type": e.typ, "sha": e.sha, "size": e.size, "url": api + "blobs/" + e.sha})
	}
	return map[string]any{"sha": tree, "url": api + "trees/" + tree, "tree": entries, "truncated": false}
}

// gitActor is the author or committer of POST /git/commits.
type gitActor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

// createCommit is POST /git/commits. The committer is the App's bot, as
// for commits an App makes; the author defaults to it.
func (s *Server) createCommit(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Message *string   `json:"message"`
		Tree    string    `json:"tree"`
		Parents []string  `json:"parents"`
		Author  *gitActor `json:"author"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.Message == nil:
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" wasn't supplied.", commitsDoc)
		return
	case s.objectType(rp, in.Tree) != "tree":
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Tree SHA does not exist", commitsDoc)
		return
	}
	args := []string{"commit-tree", in.Tree, "-m", *in.Message}
	for _, p := range in.Parents {
		if s.objectType(rp, p) != "commit" {
			writeErrorDoc(w, http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object", commitsDoc)
			return
		}
		args = append(args, "-p", p)
	}
	now := s.now().Format(time.RFC3339)
	bot := gitActor{Name: s.BotLogin(), Email: fmt.Sprintf("%d+%s@users.noreply.github.com", s.userID(s.BotLogin()), s.BotLogin()), Date: now}
	author := bot
	if in.Author != nil {
		author = *in.Author
		if author.Date == "" {
			author.Date = now
		}
	}
	env := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email, "GIT_AUTHOR_DATE=" + author.Date,
		"GIT_COMMITTER_NAME=" + bot.Name, "GIT_COMMITTER_EMAIL=" + bot.Email, "GIT_COMMITTER_DATE=" + now,
	}
	out, err := s.git(r.Context(), rp.dir, nil, env, args...)
	if err != nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+strings.TrimSpace(err.Error()), commitsDoc)
		return
	}
	sha := strings.TrimSpace(out)
	api := s.APIURL() + "repos/" + rp.fullName() + "/git/"
	parents := []any{}
	for _, p := range in.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": api + "commits/" + p, "html_url": s.srv.URL + "/" + rp.fullName() + "/commit/" + p})
	}
	url := api + "commits/" + sha
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusCreated, map[string]any{
		"sha": sha, "node_id": nodeID("C_kwDO", s.newID()), "url": url,
		"html_url":     s.srv.URL + "/" + rp.fullName() + "/commit/" + sha,
		"author":       author,
		"committer":    bot,
		"message":      *in.Message,
		"tree":         map[string]any{"sha": in.Tree, "url": api + "trees/" + in.Tree},
		"parents":      parents,
		"verification": map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
	})
}

// refNameOK reports whether ref is a full ref GitHub accepts: "refs/"
// and at least two slashes, and a valid git ref name.
func (s *Server) refNameOK(rp *repo, ref string) bool {
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return false
	}
	_, err := s.git(s.t.Context(), rp.dir, nil, nil, "check-ref-format", ref)
	return err == nil
}

// createRef is POST /git/refs: 201, or 422 "Reference already exists".
// A new branch or tag makes GitHub send push (see Events).
func (s *Server) createRef(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case !s.refNameOK(rp, in.Ref):
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.", refsDoc)
		return
	case s.objectType(rp, in.SHA) == "":
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Object does not exist", refsDoc)
		return
	case s.refExists(rp, in.Ref):
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference already exists", refsDoc)
		return
	}
	if _, err := s.git(r.Context(), rp.dir, nil, nil, "update-ref", in.Ref, in.SHA, strings.Repeat("0", 40)); err != nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference already exists", refsDoc)
		return
	}
	s.pushed(rp, in.Ref, "", in.SHA, false)
	url := s.APIURL() + "repos/" + rp.fullName() + "/git/" + in.Ref
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusCreated, s.refJSON(rp, in.Ref, in.SHA))
}

// refExists reports whether ref exists in rp. The caller holds mu.
func (s *Server) refExists(rp *repo, ref string) bool {
	_, err := s.git(s.t.Context(), rp.dir, nil, nil, "show-ref", "--verify", "--quiet", ref)
	return err == nil
}

// updateRef is PATCH /git/refs/{ref}: 200, or 422 "Update is not a fast
// forward" when sha does not descend from the ref's commit and force is
// not set. GitHub then sends push, and pull_request synchronize for the
// open pull requests whose head is that branch.
func (s *Server) updateRef(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	ref := "refs/" + r.PathValue("ref")
	old := s.resolve(rp, ref)
	switch {
	case old == "" || !s.refExists(rp, ref):
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference does not exist", updateDoc)
		return
	case s.objectType(rp, in.SHA) != "commit":
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Object does not exist", updateDoc)
		return
	case !in.Force && !s.isAncestor(rp, old, in.SHA):
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Update is not a fast forward", updateDoc)
		return
	}
	if _, err := s.git(r.Context(), rp.dir, nil, nil, "update-ref", ref, in.SHA, old); err != nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference cannot be updated", updateDoc)
		return
	}
	s.pushed(rp, ref, old, in.SHA, !s.isAncestor(rp, old, in.SHA))
	writeJSON(w, http.StatusOK, s.refJSON(rp, ref, in.SHA))
}

// isAncestor reports whether commit a is an ancestor of (or is) b. The
// caller holds mu.
func (s *Server) isAncestor(rp *repo, a, b string) bool {
	_, err := s.git(s.t.Context(), rp.dir, nil, nil, "merge-base", "--is-ancestor", a, b)
	return err == nil
}
