package githubfake

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// repo is one repository. Its fields are guarded by Server.mu.
type repo struct {
	id            int64
	owner, name   string
	ownerType     string // "Organization" or "User"
	dir           string // bare git directory
	defaultBranch string
	parent        *repo // the repository this one is a fork of
	nextNumber    int
	pulls         map[int]*pull
	issues        map[int]*issue
	labels        map[string]*label // by lower name
	statuses      []*status
	created       time.Time
	// disallowed lists the merge methods the repository's settings turn
	// off ("merge", "squash", "rebase").
	disallowed map[string]bool
	// required lists, by branch, the status check contexts that branch
	// protection requires before a merge into it.
	required map[string][]string
}

func (rp *repo) fullName() string { return rp.owner + "/" + rp.name }

// Repo describes a repository of the fake.
type Repo struct {
	ID            int64
	FullName      string
	DefaultBranch string
	// CloneURL is "<server>/git/<owner>/<name>.git".
	CloneURL string
	// Dir is the bare git directory.
	Dir string
}

// Repo returns a repository by full name.
func (s *Server) Repo(fullName string) Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repoInfo(s.mustRepo(fullName))
}

func (s *Server) repoInfo(rp *repo) Repo {
	return Repo{ID: rp.id, FullName: rp.fullName(), DefaultBranch: rp.defaultBranch, CloneURL: s.cloneURL(rp), Dir: rp.dir}
}

func (s *Server) cloneURL(rp *repo) string {
	return s.srv.URL + "/git/" + rp.fullName() + ".git"
}

// mustRepo returns the named repository or fails the test. The caller
// holds mu.
func (s *Server) mustRepo(fullName string) *repo {
	s.t.Helper()
	rp := s.repos[strings.ToLower(fullName)]
	if rp == nil {
		s.t.Fatalf("githubfake: no repository %q", fullName)
	}
	return rp
}

// gitEnv is the explicit environment of every git command.
func (s *Server) gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.root,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Fake Author",
		"GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=GitHub",
		"GIT_COMMITTER_EMAIL=noreply@github.com",
		"LC_ALL=C",
	}
}

// gitErr is a failed git command.
type gitErr struct {
	args   []string
	stderr string
	err    error
}

func (e *gitErr) Error() string {
	return fmt.Sprintf("git %s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

func (e *gitErr) Unwrap() error { return e.err }

// git runs git in dir with stdin and extra environment, returning stdout.
func (s *Server) git(ctx context.Context, dir string, stdin []byte, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(s.gitEnv(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), &gitErr{args: args, stderr: errb.String(), err: err}
	}
	return out.String(), nil
}

// exitCode returns the exit code of a failed git command, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// mustGit runs git for a test helper and fails the test on error.
func (s *Server) mustGit(dir string, stdin []byte, env []string, args ...string) string {
	s.t.Helper()
	out, err := s.git(s.t.Context(), dir, stdin, env, args...)
	if err != nil {
		s.t.Fatalf("githubfake: %v", err)
	}
	return strings.TrimSpace(out)
}

// CreateRepo creates a repository whose "main" branch holds one commit with
// files (path to content), and returns it.
func (s *Server) CreateRepo(fullName string, files map[string]string) Repo {
	s.t.Helper()
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" {
		s.t.Fatalf("githubfake: bad repository name %q", fullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[strings.ToLower(fullName)] != nil {
		s.t.Fatalf("githubfake: repository %q exists", fullName)
	}
	rp := s.newRepo(owner, name, "Organization")
	s.mustGit(s.root, nil, nil, "init", "--quiet", "--bare", "--initial-branch=main", rp.dir)
	s.configure(rp)
	s.commit(rp, "main", files, nil, "Initial commit")
	return s.repoInfo(rp)
}

// Fork creates owner's fork of a repository, with the same branches, and
// returns it. Pull requests from it use OpenPR's "owner:branch" head.
func (s *Server) Fork(fullName, owner string) Repo {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.mustRepo(fullName)
	rp := s.newRepo(owner, src.name, "User")
	rp.parent = src
	s.mustGit(s.root, nil, nil, "clone", "--quiet", "--bare", src.dir, rp.dir)
	s.mustGit(rp.dir, nil, nil, "remote", "remove", "origin")
	s.configure(rp)
	return s.repoInfo(rp)
}

// newRepo registers a repository. The caller holds mu.
func (s *Server) newRepo(owner, name, ownerType string) *repo {
	rp := &repo{
		id:            s.newID(),
		owner:         owner,
		name:          name,
		ownerType:     ownerType,
		dir:           filepath.Join(s.root, owner, name+".git"),
		defaultBranch: "main",
		nextNumber:    1,
		pulls:         map[int]*pull{},
		issues:        map[int]*issue{},
		labels:        map[string]*label{},
		created:       s.now(),
		disallowed:    map[string]bool{"rebase": true},
	}
	s.repos[strings.ToLower(rp.fullName())] = rp
	s.userID(owner)
	return rp
}

func (s *Server) configure(rp *repo) {
	for _, kv := range [][2]string{
		{"http.receivepack", "false"},
		{"http.uploadpack", "true"},
		{"uploadpack.allowReachableSHA1InWant", "true"},
		{"uploadpack.allowAnySHA1InWant", "true"},
	} {
		s.mustGit(rp.dir, nil, nil, "config", kv[0], kv[1])
	}
}

// Commit commits files (path to new content) and deletes (paths to remove)
// on top of branch with message msg, and returns the new commit's sha. A
// missing branch is created from the default branch. Open pull requests
// whose head is that branch move to the new commit.
func (s *Server) Commit(fullName, branch string, files map[string]string, deletes []string, msg string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit(s.mustRepo(fullName), branch, files, deletes, msg)
}

// commit implements Commit. The caller holds mu.
func (s *Server) commit(rp *repo, branch string, files map[string]string, deletes []string, msg string) string {
	s.t.Helper()
	old := s.resolve(rp, "refs/heads/"+branch)
	parent := old
	if parent == "" {
		parent = s.resolve(rp, "refs/heads/"+rp.defaultBranch)
	}
	idx := filepath.Join(s.t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + idx}
	if parent != "" {
		s.mustGit(rp.dir, nil, env, "read-tree", parent)
	}
	var info strings.Builder
	for _, p := range deletes {
		fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), p)
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		blob := s.mustGit(rp.dir, []byte(files[p]), env, "hash-object", "-w", "--stdin")
		fmt.Fprintf(&info, "100644 %s\t%s\n", blob, p)
	}
	s.mustGit(rp.dir, []byte(info.String()), env, "update-index", "--index-info")
	tree := s.mustGit(rp.dir, nil, env, "write-tree")
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	when := s.now().Format(time.RFC3339)
	sha := s.mustGit(rp.dir, nil, []string{"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when}, args...)
	s.mustGit(rp.dir, nil, nil, "update-ref", "refs/heads/"+branch, sha, old)
	s.syncPulls(rp, branch)
	return sha
}

// resolve returns the commit sha of ref in rp, or "". The caller holds mu.
func (s *Server) resolve(rp *repo, ref string) string {
	out, err := s.git(s.t.Context(), rp.dir, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// resolveRef resolves a user-supplied ref (sha, branch, tag or full ref).
// The caller holds mu.
func (s *Server) resolveRef(rp *repo, ref string) string {
	if strings.HasPrefix(ref, "-") || ref == "" {
		return ""
	}
	for _, r := range []string{"refs/heads/" + ref, "refs/tags/" + ref, ref} {
		if sha := s.resolve(rp, r); sha != "" {
			return sha
		}
	}
	return ""
}

// syncPulls moves open pull requests whose head is branch of rp to the
// branch's tip and updates refs/pull/N/head. The caller holds mu.
func (s *Server) syncPulls(rp *repo, branch string) {
	tip := s.resolve(rp, "refs/heads/"+branch)
	for _, base := range s.repos {
		for _, pr := range base.pulls {
			if pr.headRepo != rp || pr.headRef != branch || pr.state != "open" || tip == "" || pr.headSHA == tip {
				continue
			}
			pr.prevHeadSHA = pr.headSHA
			pr.headSHA = tip
			pr.updated = s.now()
			s.updatePullRef(base, pr)
		}
	}
}

// updatePullRef points refs/pull/N/head of base at the pull request's head,
// fetching it from a fork when needed. The caller holds mu.
func (s *Server) updatePullRef(base *repo, pr *pull) {
	ref := fmt.Sprintf("refs/pull/%d/head", pr.number)
	if pr.headRepo != base {
		s.mustGit(base.dir, nil, nil, "fetch", "--quiet", "--no-tags", pr.headRepo.dir, "+"+pr.headSHA+":"+ref)
		return
	}
	s.mustGit(base.dir, nil, nil, "update-ref", ref, pr.headSHA)
}

// Branch returns the sha of a branch, or "" when it does not exist.
func (s *Server) Branch(fullName, branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolve(s.mustRepo(fullName), "refs/heads/"+branch)
}

// FileAt returns the content of path at ref (sha, branch or tag) and
// reports whether it exists.
func (s *Server) FileAt(fullName, ref, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	sha := s.resolveRef(rp, ref)
	if sha == "" {
		return "", false
	}
	out, err := s.git(s.t.Context(), rp.dir, nil, nil, "cat-file", "blob", sha+":"+path)
	if err != nil {
		return "", false
	}
	return out, true
}

// treeEntry is one entry of `git ls-tree -l`.
type treeEntry struct {
	mode, typ, sha, path string
	size                 int64
}

// lsTree lists entries of commit matching args. The caller holds mu.
func (s *Server) lsTree(ctx context.Context, rp *repo, args ...string) ([]treeEntry, error) {
	out, err := s.git(ctx, rp.dir, nil, nil, append([]string{"ls-tree", "-z", "-l"}, args...)...)
	if err != nil {
		return nil, err
	}
	var es []treeEntry
	for rec := range strings.SplitSeq(out, "\x00") {
		meta, path, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) < 4 {
			continue
		}
		var size int64
		fmt.Sscan(f[3], &size)
		es = append(es, treeEntry{mode: f[0], typ: f[1], sha: f[2], path: path, size: size})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].path < es[j].path })
	return es, nil
}

// wrap60 base64-encodes b in lines of 60 characters, each ending in \n,
// as the contents API does.
func wrap60(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 60 {
		sb.WriteString(enc[:60])
		sb.WriteByte('\n')
		enc = enc[60:]
	}
	if enc != "" {
		sb.WriteString(enc)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// serveGit serves git smart HTTP with `git http-backend`, after checking
// Basic auth x-access-token:<installation token>.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/git/")
	owner, rest, _ := strings.Cut(rest, "/")
	name, suffix, _ := strings.Cut(rest, ".git")
	unauthorized := func() {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Invalid username or token. Password authentication is not supported for Git operations.", http.StatusUnauthorized)
	}
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	rp := s.repos[strings.ToLower(owner+"/"+name)]
	var tok *token
	if ok {
		tok = s.tokens[pass]
	}
	allowed := ok && user == "x-access-token" && tok != nil && s.now().Before(tok.expires) && rp != nil && s.installs[tok.install] != nil && s.installs[tok.install].has(rp.fullName())
	s.mu.Unlock()
	if !allowed {
		if rp == nil && ok {
			http.Error(w, "Repository not found.", http.StatusNotFound)
			return
		}
		unauthorized()
		return
	}
	backend, err := s.git(r.Context(), s.root, nil, nil, "--exec-path")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/git/" + rp.fullName() + ".git" + suffix
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(backend), "git-http-backend"),
		Root: "/git",
		Dir:  s.root,
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER="+user,
		),
	}
	h.ServeHTTP(w, r2)
}
