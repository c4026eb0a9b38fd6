package githubfake

import (
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// repoJSON returns the repository object. The caller holds mu.
func (s *Server) repoJSON(rp *repo) map[string]any {
	api := s.APIURL() + "repos/" + rp.fullName()
	html := s.srv.URL + "/" + rp.fullName()
	owner := s.userJSON(rp.owner)
	owner["type"] = rp.ownerType
	return map[string]any{
		"id":                     rp.id,
		"node_id":                nodeID("R_kgDO", rp.id),
		"name":                   rp.name,
		"full_name":              rp.fullName(),
		"private":                true,
		"owner":                  owner,
		"html_url":               html,
		"description":            nil,
		"fork":                   rp.parent != nil,
		"url":                    api,
		"pulls_url":              api + "/pulls{/number}",
		"statuses_url":           api + "/statuses/{sha}",
		"contents_url":           api + "/contents/{+path}",
		"git_url":                strings.Replace(s.cloneURL(rp), "http://", "git://", 1),
		"ssh_url":                "git@fake.github:" + rp.fullName() + ".git",
		"clone_url":              s.cloneURL(rp),
		"default_branch":         rp.defaultBranch,
		"visibility":             "private",
		"archived":               false,
		"disabled":               false,
		"allow_merge_commit":     !rp.disallowed["merge"],
		"allow_squash_merge":     !rp.disallowed["squash"],
		"allow_rebase_merge":     !rp.disallowed["rebase"],
		"delete_branch_on_merge": false,
		"created_at":             rp.created.Format(time.RFC3339),
		"updated_at":             rp.created.Format(time.RFC3339),
		"pushed_at":              rp.created.Format(time.RFC3339),
	}
}

// SetMergeMethods sets which merge methods the repository's settings allow.
// New repositories allow merge commits and squash merges. The fake cannot
// rebase, so rebase is always refused.
func (s *Server) SetMergeMethods(fullName string, merge, squash bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	rp.disallowed = map[string]bool{"merge": !merge, "squash": !squash, "rebase": true}
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, rp *repo) {
	writeJSON(w, http.StatusOK, s.repoJSON(rp))
}

// status is one commit status. Its fields are guarded by Server.mu.
type status struct {
	Status
}

// Status is a commit status.
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

// Statuses returns the statuses of a commit, newest first.
func (s *Server) Statuses(fullName, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.statusesOf(s.mustRepo(fullName), sha) {
		out = append(out, st.Status)
	}
	return out
}

// statusesOf returns the statuses of sha, newest first. The caller holds mu.
func (s *Server) statusesOf(rp *repo, sha string) []*status {
	var out []*status
	for i := len(rp.statuses) - 1; i >= 0; i-- {
		if rp.statuses[i].SHA == sha {
			out = append(out, rp.statuses[i])
		}
	}
	return out
}

// latestStatuses returns the newest status per context (case-insensitive).
// The caller holds mu.
func (s *Server) latestStatuses(rp *repo, sha string) []*status {
	seen := map[string]bool{}
	var out []*status
	for _, st := range s.statusesOf(rp, sha) {
		k := strings.ToLower(st.Context)
		if !seen[k] {
			seen[k] = true
			out = append(out, st)
		}
	}
	return out
}

// combined returns the combined state of sha. The caller holds mu.
func (s *Server) combined(rp *repo, sha string) string {
	latest := s.latestStatuses(rp, sha)
	if len(latest) == 0 {
		return "pending"
	}
	state := "success"
	for _, st := range latest {
		switch st.State {
		case "error", "failure":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

func (s *Server) statusJSON(rp *repo, st *status) map[string]any {
	var desc, target any
	if st.Description != "" {
		desc = st.Description
	}
	if st.TargetURL != "" {
		target = st.TargetURL
	}
	creator := s.userJSON(st.Creator)
	return map[string]any{
		"url":         s.APIURL() + "repos/" + rp.fullName() + "/statuses/" + st.SHA,
		"avatar_url":  creator["avatar_url"],
		"id":          st.ID,
		"node_id":     nodeID("SC_kwDO", st.ID),
		"state":       st.State,
		"description": desc,
		"target_url":  target,
		"context":     st.Context,
		"created_at":  st.CreatedAt.Format(time.RFC3339),
		"updated_at":  st.CreatedAt.Format(time.RFC3339),
		"creator":     creator,
	}
}

// isFullSHA reports whether s is a 40-digit lower-case hex object name.
func isFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, rp *repo) {
	const doc = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
	sha := r.PathValue("sha")
	var in struct {
		State       *string `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.State == nil {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"state\" wasn't supplied.", doc)
		return
	}
	switch *in.State {
	case "error", "failure", "pending", "success":
	default:
		writeValidation(w, doc, map[string]any{"resource": "Status", "code": "custom", "field": "state", "message": "state is not included in the list"})
		return
	}
	if !isFullSHA(sha) || s.resolve(rp, sha) != sha {
		writeValidation(w, doc, map[string]any{"resource": "Status", "code": "custom", "field": "sha", "message": "No commit found for SHA: " + sha})
		return
	}
	st := &status{Status{ID: s.newID(), SHA: sha, State: *in.State, Context: "default", Creator: s.BotLogin(), CreatedAt: s.now()}}
	if in.Context != nil && *in.Context != "" {
		st.Context = *in.Context
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 140 {
			writeValidation(w, doc, map[string]any{"resource": "Status", "code": "custom", "field": "description", "message": "description is too long (maximum is 140 characters)"})
			return
		}
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	rp.statuses = append(rp.statuses, st)
	m := s.statusJSON(rp, st)
	w.Header().Set("Location", m["url"].(string))
	writeJSON(w, http.StatusCreated, m)
}

// refSHA resolves the {ref} path value or writes a 404.
func (s *Server) refSHA(w http.ResponseWriter, r *http.Request, rp *repo) string {
	ref := r.PathValue("ref")
	sha := s.resolveRef(rp, ref)
	if sha == "" {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, "https://docs.github.com/rest/commits/statuses")
	}
	return sha
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := s.refSHA(w, r, rp)
	if sha == "" {
		return
	}
	writeJSON(w, http.StatusOK, page(w, r, s.statusesOf(rp, sha), func(st *status) map[string]any {
		return s.statusJSON(rp, st)
	}))
}

func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request, rp *repo) {
	sha := s.refSHA(w, r, rp)
	if sha == "" {
		return
	}
	latest := s.latestStatuses(rp, sha)
	out := page(w, r, latest, func(st *status) map[string]any {
		m := s.statusJSON(rp, st)
		delete(m, "creator")
		return m
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"state":       s.combined(rp, sha),
		"statuses":    out,
		"sha":         sha,
		"total_count": len(latest),
		"repository":  s.repoJSON(rp),
		"commit_url":  s.APIURL() + "repos/" + rp.fullName() + "/commits/" + sha,
		"url":         s.APIURL() + "repos/" + rp.fullName() + "/commits/" + sha + "/status",
	})
}

// SetCollaborator gives login a role on a repository: admin, maintain,
// write, triage, read or a custom role name (reported as read).
func (s *Server) SetCollaborator(fullName, login, role string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	k := strings.ToLower(rp.fullName())
	if s.collabs[k] == nil {
		s.collabs[k] = map[string]string{}
	}
	s.collabs[k][strings.ToLower(login)] = role
	s.userID(login)
}

// legacyPermission maps a role to GitHub's legacy base permission.
func legacyPermission(role string) string {
	switch role {
	case "admin":
		return "admin"
	case "maintain", "write":
		return "write"
	case "none":
		return "none"
	default:
		return "read"
	}
}

func (s *Server) getPermission(w http.ResponseWriter, r *http.Request, rp *repo) {
	login := r.PathValue("user")
	k := strings.ToLower(login)
	if _, known := s.users[k]; !known {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user")
		return
	}
	role, ok := s.collabs[strings.ToLower(rp.fullName())][k]
	if !ok {
		role = "none"
	}
	perm := legacyPermission(role)
	user := s.userJSON(s.logins[k])
	user["permissions"] = map[string]bool{
		"admin":    role == "admin",
		"maintain": role == "admin" || role == "maintain",
		"push":     perm == "admin" || perm == "write",
		"triage":   perm != "none" && perm != "read" || role == "triage",
		"pull":     perm != "none",
	}
	user["role_name"] = role
	writeJSON(w, http.StatusOK, map[string]any{"permission": perm, "role_name": role, "user": user})
}

// AddTeamMember makes login an active member of org's team.
func (s *Server) AddTeamMember(org, team, login string) {
	s.SetTeamMembership(org, team, login, "member", "active")
}

// SetTeamMembership sets login's membership of org's team: role member or
// maintainer, state active or pending.
func (s *Server) SetTeamMembership(org, team, login, role, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(org + "/" + team)
	if s.teams[k] == nil {
		s.teams[k] = map[string]teamMember{}
	}
	s.teams[k][strings.ToLower(login)] = teamMember{role: role, state: state}
	s.userID(login)
}

func (s *Server) getTeamMembership(w http.ResponseWriter, r *http.Request) {
	org, team, login := r.PathValue("org"), r.PathValue("team"), r.PathValue("user")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.teams[strings.ToLower(org+"/"+team)][strings.ToLower(login)]
	if !ok {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user")
		return
	}
	id := s.userID("team:" + org + "/" + team)
	writeJSON(w, http.StatusOK, map[string]any{
		"url":   s.APIURL() + "organizations/" + strconv.FormatInt(s.userID(org), 10) + "/team/" + strconv.FormatInt(id, 10) + "/memberships/" + login,
		"role":  m.role,
		"state": m.state,
	})
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request, rp *repo) {
	const doc = "https://docs.github.com/rest/repos/contents#get-repository-content"
	p := strings.Trim(r.PathValue("path"), "/")
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.defaultBranch
	}
	sha := s.resolveRef(rp, ref)
	if sha == "" {
		writeErrorDoc(w, http.StatusNotFound, "No commit found for the ref "+ref, doc)
		return
	}
	api := s.APIURL() + "repos/" + rp.fullName()
	entryJSON := func(e treeEntry, full string) map[string]any {
		typ := map[string]string{"blob": "file", "tree": "dir", "commit": "submodule"}[e.typ]
		if e.mode == "120000" {
			typ = "symlink"
		}
		self := api + "/contents/" + full + "?ref=" + ref
		html := s.srv.URL + "/" + rp.fullName() + "/blob/" + ref + "/" + full
		git := api + "/git/blobs/" + e.sha
		m := map[string]any{
			"type": typ, "size": e.size, "name": path.Base(full), "path": full, "sha": e.sha,
			"url": self, "git_url": git, "html_url": html, "download_url": nil,
			"_links": map[string]string{"self": self, "git": git, "html": html},
		}
		if typ == "file" {
			m["download_url"] = s.srv.URL + "/raw/" + rp.fullName() + "/" + sha + "/" + full
		} else {
			m["size"] = 0
		}
		return m
	}
	listDir := func(treeish string) {
		es, err := s.lsTree(r.Context(), rp, treeish)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		out := []any{}
		for _, e := range es {
			out = append(out, entryJSON(e, strings.TrimPrefix(p+"/"+e.path, "/")))
		}
		writeJSON(w, http.StatusOK, out)
	}
	if p == "" {
		listDir(sha)
		return
	}
	es, err := s.lsTree(r.Context(), rp, sha, "--", p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if len(es) != 1 || es[0].path != p {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", doc)
		return
	}
	e := es[0]
	if e.typ == "tree" {
		listDir(sha + ":" + p)
		return
	}
	content, err := s.git(r.Context(), rp.dir, nil, nil, "cat-file", "blob", e.sha)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	m := entryJSON(e, p)
	m["encoding"] = "base64"
	m["content"] = wrap60([]byte(content))
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) refJSON(rp *repo, ref, sha string) map[string]any {
	return map[string]any{
		"ref":     ref,
		"node_id": nodeID("REF_kwDO", rp.id),
		"url":     s.APIURL() + "repos/" + rp.fullName() + "/git/" + ref,
		"object":  map[string]any{"type": "commit", "sha": sha, "url": s.APIURL() + "repos/" + rp.fullName() + "/git/commits/" + sha},
	}
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request, rp *repo) {
	ref := "refs/" + r.PathValue("ref")
	sha := s.resolve(rp, ref)
	if sha == "" || (!strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/")) {
		writeErrorDoc(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(rp, ref, sha))
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request, rp *repo) {
	const doc = "https://docs.github.com/rest/git/refs#delete-a-reference"
	ref := "refs/" + r.PathValue("ref")
	if ref == "refs/heads/"+rp.defaultBranch {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Cannot delete the default branch", doc)
		return
	}
	sha := s.resolve(rp, ref)
	if sha == "" || (!strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/")) {
		writeErrorDoc(w, http.StatusUnprocessableEntity, "Reference does not exist", doc)
		return
	}
	if _, err := s.git(r.Context(), rp.dir, nil, nil, "update-ref", "-d", ref, sha); err != nil {
		writeError(w, http.StatusConflict, "Reference update failed")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
