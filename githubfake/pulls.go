package githubfake

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pull is one pull request. Its fields are guarded by Server.mu.
type pull struct {
	number          int
	id              int64
	title, author   string
	body            string
	state           string
	draft, merged   bool
	headRepo        *repo // nil when the head repository was deleted
	headRepoID      int64
	headRepoName    string
	headRef         string
	headSHA         string
	prevHeadSHA     string
	baseRef         string
	mergeCommitSHA  string
	mergedBy        string
	created         time.Time
	updated         time.Time
	closed, mergedT time.Time
	mergeKey        string // head and base of the last mergeability request
	block           string // a forced 405 message for merges
	reviews         []*review
}

// PR is a snapshot of a pull request.
type PR struct {
	Number int
	Title  string
	Body   string
	Author string
	// State is "open" or "closed".
	State  string
	Draft  bool
	Merged bool
	// HeadRepo is the head repository's full name, "" after DeleteHeadRepo.
	HeadRepo       string
	HeadRepoID     int64
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	BaseSHA        string
	MergeCommitSHA string
	MergedBy       string
}

// OpenPR opens a pull request from head into base and returns it. head is a
// branch of the repository, or "owner:branch" for a branch of owner's fork
// (see Fork).
func (s *Server) OpenPR(fullName, head, base, author, title string) PR {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	headRepo := rp
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		headRepo = s.mustRepo(owner + "/" + rp.name)
		head = branch
	}
	sha := s.resolve(headRepo, "refs/heads/"+head)
	if sha == "" {
		s.t.Fatalf("githubfake: no branch %q in %s", head, headRepo.fullName())
	}
	if s.resolve(rp, "refs/heads/"+base) == "" {
		s.t.Fatalf("githubfake: no base branch %q in %s", base, fullName)
	}
	pr := &pull{
		number:       rp.nextNumber,
		id:           s.newID(),
		title:        title,
		author:       author,
		state:        "open",
		headRepo:     headRepo,
		headRepoID:   headRepo.id,
		headRepoName: headRepo.fullName(),
		headRef:      head,
		headSHA:      sha,
		baseRef:      base,
		created:      s.now(),
		updated:      s.now(),
	}
	s.userID(author)
	rp.nextNumber++
	rp.pulls[pr.number] = pr
	s.updatePullRef(rp, pr)
	return s.snapshot(rp, pr)
}

// mustPull returns a pull request or fails the test. The caller holds mu.
func (s *Server) mustPull(fullName string, n int) (*repo, *pull) {
	s.t.Helper()
	rp := s.mustRepo(fullName)
	pr := rp.pulls[n]
	if pr == nil {
		s.t.Fatalf("githubfake: no pull request %s#%d", fullName, n)
	}
	return rp, pr
}

func (s *Server) snapshot(rp *repo, pr *pull) PR {
	p := PR{
		Number: pr.number, Title: pr.title, Body: pr.body, Author: pr.author, State: pr.state, Draft: pr.draft, Merged: pr.merged,
		HeadRepoID: pr.headRepoID, HeadRef: pr.headRef, HeadSHA: pr.headSHA,
		BaseRef: pr.baseRef, BaseSHA: s.resolve(rp, "refs/heads/"+pr.baseRef),
		MergeCommitSHA: pr.mergeCommitSHA, MergedBy: pr.mergedBy,
	}
	if pr.headRepo != nil {
		p.HeadRepo = pr.headRepo.fullName()
	}
	return p
}

// PR returns a snapshot of a pull request.
func (s *Server) PR(fullName string, n int) PR {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.mustPull(fullName, n)
	return s.snapshot(rp, pr)
}

// withPull runs edit on a pull request with mu held, for the methods that
// change one as a person or GitHub would; the test fails when there is no
// such pull request.
func (s *Server) withPull(fullName string, n int, edit func(rp *repo, pr *pull)) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(s.mustPull(fullName, n))
}

// SetDraft marks a pull request as draft or ready for review.
func (s *Server) SetDraft(fullName string, n int, draft bool) {
	s.t.Helper()
	s.withPull(fullName, n, func(_ *repo, pr *pull) {
		pr.draft = draft
		pr.updated = s.now()
	})
}

// ClosePR closes a pull request without merging it.
func (s *Server) ClosePR(fullName string, n int) {
	s.t.Helper()
	s.withPull(fullName, n, func(_ *repo, pr *pull) {
		pr.state = "closed"
		pr.closed = s.now()
		pr.updated = s.now()
	})
}

// ReopenPR reopens a closed, unmerged pull request, moving it to its head
// branch's current tip.
func (s *Server) ReopenPR(fullName string, n int) {
	s.t.Helper()
	s.withPull(fullName, n, func(rp *repo, pr *pull) {
		s.t.Helper()
		if pr.merged {
			s.t.Fatalf("githubfake: %s#%d is merged", fullName, n)
		}
		pr.state = "open"
		pr.closed = time.Time{}
		pr.updated = s.now()
		if pr.headRepo != nil {
			if tip := s.resolve(pr.headRepo, "refs/heads/"+pr.headRef); tip != "" && tip != pr.headSHA {
				pr.prevHeadSHA, pr.headSHA = pr.headSHA, tip
				s.updatePullRef(rp, pr)
			}
		}
	})
}

// DeleteHeadRepo makes a pull request's head repository deleted, so that
// head.repo is null.
func (s *Server) DeleteHeadRepo(fullName string, n int) {
	s.t.Helper()
	s.withPull(fullName, n, func(_ *repo, pr *pull) { pr.headRepo = nil })
}

// BlockMerge makes merges of a pull request fail with 405 and msg (for
// example "Waiting on code owner review from @acme/infra."); an empty msg
// unblocks it.
func (s *Server) BlockMerge(fullName string, n int, msg string) {
	s.t.Helper()
	s.withPull(fullName, n, func(_ *repo, pr *pull) { pr.block = msg })
}

// pullFromPath returns the pull request named by the {n} path value.
func pullFromPath(w http.ResponseWriter, r *http.Request, rp *repo) *pull {
	n, _ := strconv.Atoi(r.PathValue("n"))
	pr := rp.pulls[n]
	if pr == nil {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return pr
}

// fileEntry is one changed file of a pull request.
type fileEntry struct {
	status, path, prev, sha string
	additions, deletions    int
}

// pullFiles diffs base...head with rename detection. The caller holds mu.
func (s *Server) pullFiles(ctx context.Context, rp *repo, pr *pull) ([]fileEntry, error) {
	base := s.resolve(rp, "refs/heads/"+pr.baseRef)
	rng := base + "..." + pr.headSHA
	if pr.merged {
		// After a merge the diff is the one that was merged.
		rng = pr.mergeCommitSHA + "^1..." + pr.headSHA
	}
	raw, err := s.git(ctx, rp.dir, nil, nil, "diff", "--raw", "-M", "-z", "--abbrev=40", rng)
	if err != nil {
		return nil, err
	}
	num, err := s.git(ctx, rp.dir, nil, nil, "diff", "--numstat", "-M", "-z", rng)
	if err != nil {
		return nil, err
	}
	var files []fileEntry
	f := strings.Split(raw, "\x00")
	for i := 0; i+1 < len(f); {
		meta := strings.Fields(strings.TrimPrefix(f[i], ":"))
		if len(meta) < 5 {
			break
		}
		e := fileEntry{sha: meta[3]}
		code := meta[4][:1]
		e.status = map[string]string{"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}[code]
		if code == "R" || code == "C" {
			e.prev, e.path = f[i+1], f[i+2]
			i += 3
		} else {
			e.path = f[i+1]
			i += 2
		}
		if code == "D" {
			e.sha = meta[2]
		}
		files = append(files, e)
	}
	// numstat -z: "add\tdel\tpath\0" or "add\tdel\t\0old\0new\0".
	n := strings.Split(num, "\x00")
	for i, k := 0, 0; i < len(n) && k < len(files); k++ {
		parts := strings.SplitN(n[i], "\t", 3)
		if len(parts) < 3 {
			break
		}
		files[k].additions, _ = strconv.Atoi(parts[0])
		files[k].deletions, _ = strconv.Atoi(parts[1])
		if parts[2] == "" {
			i += 3
		} else {
			i++
		}
	}
	return files, nil
}

// pullStats is what a pull request's diff against its base counts.
type pullStats struct {
	baseSHA                              string
	files, additions, deletions, commits int
}

// diffStats counts the files, lines and commits of pr against its base
// branch. The caller holds mu.
func (s *Server) diffStats(ctx context.Context, rp *repo, pr *pull) (pullStats, error) {
	files, err := s.pullFiles(ctx, rp, pr)
	if err != nil {
		return pullStats{}, err
	}
	st := pullStats{files: len(files), baseSHA: s.resolve(rp, "refs/heads/"+pr.baseRef)}
	for _, f := range files {
		st.additions += f.additions
		st.deletions += f.deletions
	}
	if out, err := s.git(ctx, rp.dir, nil, nil, "rev-list", "--count", st.baseSHA+".."+pr.headSHA); err == nil {
		st.commits, _ = strconv.Atoi(strings.TrimSpace(out))
	}
	return st, nil
}

// pullLinks returns the URL fields of the pull-request object.
func (s *Server) pullLinks(rp *repo, pr *pull) map[string]any {
	apiRepo := s.APIURL() + "repos/" + rp.fullName()
	html := s.srv.URL + "/" + rp.fullName() + "/pull/" + strconv.Itoa(pr.number)
	return map[string]any{
		"url":                 apiRepo + "/pulls/" + strconv.Itoa(pr.number),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           apiRepo + "/issues/" + strconv.Itoa(pr.number),
		"commits_url":         apiRepo + "/pulls/" + strconv.Itoa(pr.number) + "/commits",
		"review_comments_url": apiRepo + "/pulls/" + strconv.Itoa(pr.number) + "/comments",
		"comments_url":        apiRepo + "/issues/" + strconv.Itoa(pr.number) + "/comments",
		"statuses_url":        apiRepo + "/statuses/" + pr.headSHA,
	}
}

// timeOrNil returns t in RFC 3339, or nil (JSON null) for the zero time.
func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

// pullBranches returns the head and base objects of the pull-request
// object. The caller holds mu.
func (s *Server) pullBranches(rp *repo, pr *pull, baseSHA string) (head, base map[string]any) {
	var headRepo any
	headOwner := strings.SplitN(pr.headRepoName, "/", 2)[0]
	if pr.headRepo != nil {
		headRepo = s.repoJSON(pr.headRepo)
	}
	head = map[string]any{"label": headOwner + ":" + pr.headRef, "ref": pr.headRef, "sha": pr.headSHA, "user": s.userJSON(headOwner), "repo": headRepo}
	base = map[string]any{"label": rp.owner + ":" + pr.baseRef, "ref": pr.baseRef, "sha": baseSHA, "user": s.userJSON(rp.owner), "repo": s.repoJSON(rp)}
	return head, base
}

// pullJSON returns the pull-request object. mergeable is nil while it is
// being computed. The caller holds mu.
func (s *Server) pullJSON(ctx context.Context, rp *repo, pr *pull, mergeable *bool, state string) (map[string]any, error) {
	st, err := s.diffStats(ctx, rp, pr)
	if err != nil {
		return nil, err
	}
	var mergedBy any
	if pr.mergedBy != "" {
		mergedBy = s.userJSON(pr.mergedBy)
	}
	var mcs any
	if pr.mergeCommitSHA != "" {
		mcs = pr.mergeCommitSHA
	}
	head, base := s.pullBranches(rp, pr, st.baseSHA)
	m := s.pullLinks(rp, pr)
	maps.Copy(m, map[string]any{
		"id":                    pr.id,
		"node_id":               nodeID("PR_kwDO", pr.id),
		"number":                pr.number,
		"state":                 pr.state,
		"locked":                false,
		"title":                 pr.title,
		"user":                  s.userJSON(pr.author),
		"body":                  nullable(pr.body),
		"labels":                []any{},
		"milestone":             nil,
		"active_lock_reason":    nil,
		"created_at":            timeOrNil(pr.created),
		"updated_at":            timeOrNil(pr.updated),
		"closed_at":             timeOrNil(pr.closed),
		"merged_at":             timeOrNil(pr.mergedT),
		"merge_commit_sha":      mcs,
		"assignee":              nil,
		"assignees":             []any{},
		"requested_reviewers":   []any{},
		"requested_teams":       []any{},
		"head":                  head,
		"base":                  base,
		"author_association":    s.association(rp, pr.author),
		"auto_merge":            nil,
		"draft":                 pr.draft,
		"merged":                pr.merged,
		"mergeable":             mergeable,
		"rebaseable":            mergeable,
		"mergeable_state":       state,
		"merged_by":             mergedBy,
		"comments":              s.countComments(rp, pr.number),
		"review_comments":       0,
		"maintainer_can_modify": false,
		"commits":               st.commits,
		"additions":             st.additions,
		"deletions":             st.deletions,
		"changed_files":         st.files,
	})
	return m, nil
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	mergeable, state, err := s.mergeability(r.Context(), rp, pr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	m, err := s.pullJSON(r.Context(), rp, pr, mergeable, state)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, rp *repo) {
	pr := pullFromPath(w, r, rp)
	if pr == nil {
		return
	}
	files, err := s.pullFiles(r.Context(), rp, pr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	files = files[:min(len(files), 3000)]
	writeJSON(w, http.StatusOK, page(w, r, files, func(f fileEntry) map[string]any {
		e := map[string]any{
			"sha":          f.sha,
			"filename":     f.path,
			"status":       f.status,
			"additions":    f.additions,
			"deletions":    f.deletions,
			"changes":      f.additions + f.deletions,
			"blob_url":     s.srv.URL + "/" + rp.fullName() + "/blob/" + pr.headSHA + "/" + f.path,
			"raw_url":      s.srv.URL + "/" + rp.fullName() + "/raw/" + pr.headSHA + "/" + f.path,
			"contents_url": s.APIURL() + "repos/" + rp.fullName() + "/contents/" + f.path + "?ref=" + pr.headSHA,
		}
		if f.prev != "" {
			e["previous_filename"] = f.prev
		}
		return e
	}))
}

const mergeDoc = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
