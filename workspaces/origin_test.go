package workspaces

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
)

// testToken is the installation token the test origin accepts. It is long
// and distinctive so that searching for it cannot match by accident.
const testToken = "ghs_TestTokenZq8wX3vK9pLm2Rt7Yb4Nc6Hd1Jf5Gs0"

// origin is a GitHub-like git server: a bare repository acme/infra served
// over smart HTTP by git http-backend, requiring the installation token as
// HTTP Basic auth, with a working clone to make commits in.
type origin struct {
	t    *testing.T
	bare string // the served bare repository
	work string // a clone to commit in
	url  string // clone_url

	// mu guards the fields below.
	mu        sync.Mutex
	requests  []string // "METHOD path?query"
	authSeen  []string // Authorization headers
	infoRefs  int      // GET info/refs requests that passed auth
	refusals  int      // requests refused for bad credentials
	tokenInRq bool     // whether the token appeared in a URL
	worktrees bool     // setupPR adds a .gitattributes file (see setupPR)
}

func newOrigin(t *testing.T) *origin {
	t.Helper()
	projects := t.TempDir()
	o := &origin{t: t, bare: filepath.Join(projects, "acme", "infra.git"), work: t.TempDir()}
	gitT(t, "", "init", "--quiet", "--bare", "-b", "main", o.bare)
	gitT(t, "", "init", "--quiet", "-b", "main", o.work)
	gitT(t, o.work, "remote", "add", "origin", o.bare)

	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found: %v", err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/git",
		Env: []string{
			"GIT_PROJECT_ROOT=" + projects,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
		Stderr: io.Discard,
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+testToken))
	mux := http.NewServeMux()
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, r.Method+" "+r.URL.RequestURI())
		o.authSeen = append(o.authSeen, r.Header.Get("Authorization"))
		if strings.Contains(r.URL.String(), testToken) {
			o.tokenInRq = true
		}
		ok := r.Header.Get("Authorization") == want
		if !ok {
			o.refusals++
		} else if strings.HasSuffix(r.URL.Path, "/info/refs") {
			o.infoRefs++
		}
		o.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	o.url = srv.URL + "/git/acme/infra.git"
	return o
}

// commit writes files (an empty content removes the file) and commits them
// in the working clone, returning the new commit's SHA.
func (o *origin) commit(files map[string]string, msg string) string {
	o.t.Helper()
	for name, content := range files {
		p := filepath.Join(o.work, filepath.FromSlash(name))
		if content == "" {
			gitT(o.t, o.work, "rm", "--quiet", "--", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			o.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			o.t.Fatal(err)
		}
		gitT(o.t, o.work, "add", "--", name)
	}
	gitT(o.t, o.work, "commit", "--quiet", "-m", msg)
	return strings.TrimSpace(gitT(o.t, o.work, "rev-parse", "HEAD"))
}

// push sets ref in the served repository to sha.
func (o *origin) push(sha, ref string) {
	o.t.Helper()
	gitT(o.t, o.work, "push", "--quiet", "--force", "origin", sha+":"+ref)
}

func (o *origin) source(pr int, base, head string) Source {
	return Source{
		Repo:     planbot.Repo{Owner: "acme", Name: "infra"},
		CloneURL: o.url,
		Token:    testToken,
		PR:       pr,
		BaseRef:  "main",
		BaseSHA:  base,
		HeadSHA:  head,
	}
}

// gitT runs git in dir with a fixed identity and no user configuration.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

// newManager returns a Manager over a fresh data directory whose logs go to
// t.Log and to the returned writer.
func newManager(t *testing.T) (*Manager, *logtest.Buffer) {
	t.Helper()
	log, lw := logtest.Capture(t)
	m, err := New(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	return m, lw
}

// readFile returns the content of a file, failing the test if it is
// unreadable.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoToken fails when the token, in clear or encoded, is in any file
// under root.
func assertNoToken(t *testing.T, root string) {
	t.Helper()
	needles := [][]byte{
		[]byte(testToken),
		[]byte(base64.StdEncoding.EncodeToString([]byte("x-access-token:" + testToken))),
	}
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("token found in %s", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no files under %s", root)
	}
}

// setupPR makes a base commit on main and a pull request #1 on top of it,
// and returns both SHAs. With o.worktrees the base commit also has a
// .gitattributes file, so that Checkout makes git worktrees of both.
func setupPR(o *origin) (base, head string) {
	files := map[string]string{
		"envs/dev/main.tf":  "dev = 1\n",
		"envs/prod/main.tf": "prod = 1\n",
		"README":            "hello planbot, this is the readme\n",
	}
	if o.worktrees {
		files[".gitattributes"] = "*.sh text eol=lf\n"
	}
	base = o.commit(files, "base")
	o.push(base, "refs/heads/main")
	head = o.commit(map[string]string{
		"envs/dev/main.tf":   "dev = 2\n",
		"envs/stage/main.tf": "stage = 1\n",
		"README":             "",
		"docs/README.md":     "hello planbot, this is the readme\n",
	}, "change")
	o.push(head, "refs/pull/1/head")
	return base, head
}

// newOriginPR returns a new origin with pull request 1 (setupPR), its
// base and head, and a new manager that has not synced it; with worktrees,
// its commits are checked out as git worktrees.
func newOriginPR(t *testing.T, worktrees ...bool) (o *origin, m *Manager, base, head string) {
	t.Helper()
	o = newOrigin(t)
	o.worktrees = len(worktrees) > 0 && worktrees[0]
	base, head = setupPR(o)
	m, _ = newManager(t)
	return o, m, base, head
}

// syncedPR is pull request 1 of a new origin (setupPR), synced by a new
// manager.
type syncedPR struct {
	o          *origin
	m          *Manager
	logs       *logtest.Buffer
	src        Source
	base, head string
}

// newSyncedPR returns pull request 1 of a new origin, synced; with
// worktrees, its commits are checked out as git worktrees.
func newSyncedPR(t *testing.T, worktrees ...bool) syncedPR {
	t.Helper()
	pr := syncedPR{o: newOrigin(t)}
	pr.o.worktrees = len(worktrees) > 0 && worktrees[0]
	pr.base, pr.head = setupPR(pr.o)
	pr.m, pr.logs = newManager(t)
	pr.src = pr.o.source(1, pr.base, pr.head)
	if err := pr.m.Sync(context.Background(), pr.src); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return pr
}

// checkout checks out commit sha for the project called name in the pull
// request of pr, and fails the test when it cannot.
func (pr syncedPR) checkout(t *testing.T, sha, name string) string {
	t.Helper()
	dir, err := pr.m.Checkout(context.Background(), pr.src, sha, name)
	if err != nil {
		t.Fatalf("Checkout %s of %s: %v", name, short(sha), err)
	}
	return dir
}

// forEachKind runs test once for commits that Checkout writes in process
// and once for commits it makes git worktrees of (see setupPR).
func forEachKind(t *testing.T, test func(t *testing.T, worktrees bool)) {
	for _, worktrees := range []bool{false, true} {
		name := map[bool]string{false: "written", true: "worktrees"}[worktrees]
		t.Run(name, func(t *testing.T) { test(t, worktrees) })
	}
}

// assertCheckouts checks that the workspaces of repo on disk are want and
// that git knows exactly those of them that are worktrees: none that was
// removed, none that Checkout wrote in process.
func assertCheckouts(t *testing.T, m *Manager, repo planbot.Repo, want []string) {
	t.Helper()
	var got, worktrees []string
	dirs, _ := filepath.Glob(filepath.Join(m.Root(), "workspaces", repo.Owner, repo.Name, "pr-*", "*", "*"))
	for _, d := range dirs {
		got = append(got, d)
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			worktrees = append(worktrees, d)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("workspaces on disk (-got +want):\n%s", diff)
	}
	known, err := m.Worktrees(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(known)
	if diff := cmp.Diff(known, worktrees); diff != "" {
		t.Errorf("git's worktrees (-got +want):\n%s", diff)
	}
}

// synced returns a new manager that synced pull request pr of o, whose
// base and head are given, and the source it synced.
func (o *origin) synced(pr int, base, head string) (*Manager, *logtest.Buffer, Source) {
	o.t.Helper()
	m, logs := newManager(o.t)
	src := o.source(pr, base, head)
	if err := m.Sync(context.Background(), src); err != nil {
		o.t.Fatalf("Sync: %v", err)
	}
	return m, logs, src
}

// newTwoPRs is newOriginPR with a second pull request, #2, of the same
// head.
func newTwoPRs(t *testing.T, worktrees bool) (o *origin, m *Manager, base, head string) {
	t.Helper()
	o, m, base, head = newOriginPR(t, worktrees)
	o.push(head, "refs/pull/2/head")
	return o, m, base, head
}
