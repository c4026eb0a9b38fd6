// Package workspaces checks out the commits of pull requests into isolated
// directories, using the git command line.
//
// The model: every repository has one bare cache under the data directory,
// <root>/repos/<owner>/<repo>.git, that is reused across pull requests, so a
// re-plan fetches only the new objects. Sync fetches the base branch and the
// pull request head (refs/pull/<N>/head, which GitHub serves for forks too)
// into the cache and verifies that the wanted commits arrived. Checkout then
// writes a commit's files into a directory per pull request, commit and
// project:
//
//	<root>/workspaces/<owner>/<repo>/pr-<N>/<sha12>/<name>       (the PR head)
//	<root>/workspaces/<owner>/<repo>/pr-<N>/base-<sha12>/<name>  (any other commit, e.g. the base)
//
// The files are written in process from the cache's objects, which one
// long-running `git cat-file --batch` per cache reads (see objectReader),
// exactly as git's checkout writes them; a commit whose checkout only git
// reproduces (one with a .gitattributes file) becomes a detached git
// worktree instead. Each project gets its own directory, so projects of
// one pull request can run side by side without seeing each other's
// .terraform directories or plan files: CopyCheckout makes it in process,
// as a copy of the commit's shared checkout (named "_tree" by planbot),
// without the cache's lock, and reuses a copy whose files of the commit
// are unchanged. Cleanup removes all workspaces of a pull request, Prune
// those of commits that are no longer current.
//
// ReadFiles reads files of a fetched commit without a checkout, through the
// same object reader, and remembers a commit's small files.
//
// Every git command that changes a cache (fetch, worktree add and remove)
// and every checkout holds that repository's mutex, so git's own lock
// files never make two goroutines collide; different repositories proceed
// in parallel.
//
// The installation token never touches the disk, a URL or a process
// argument: it reaches git through GIT_CONFIG_* environment variables as an
// http.extraHeader, git runs with a minimal environment and no user or
// system configuration, and the token is redacted from any error text.
package workspaces

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/planbot/planbot"
)

// Manager owns the repository caches and workspaces under one data
// directory. Its methods are safe for concurrent use.
type Manager struct {
	root   string // absolute, symlinks resolved
	git    string // path of the git binary
	logger *slog.Logger

	// mu guards locks, commits and readers.
	mu    sync.Mutex
	locks map[string]*sync.Mutex // by cache directory
	// commits remembers when a commit was last seen in a cache (see
	// hasCommit), by cache directory and SHA.
	commits map[string]time.Time
	// files remembers small files read from commits (see ReadFiles).
	files fileMemory
	// readers are the running object readers, by cache directory.
	readers map[string]*objectReader
}

// New returns a Manager that keeps its caches and workspaces under root,
// creating root if needed. It finds git on PATH.
func New(root string, logger *slog.Logger) (*Manager, error) {
	if root == "" {
		return nil, planbot.Errorf(planbot.EINVALID, "workspaces: empty data directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("workspaces: find git: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("workspaces: data directory: %w", err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "repos"), filepath.Join(abs, "workspaces"), filepath.Join(abs, "home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("workspaces: create data directory: %w", err)
		}
	}
	// Resolve symlinks so that paths git reports (worktree list) compare
	// equal to the ones built here.
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("workspaces: data directory: %w", err)
	}
	return &Manager{root: abs, git: gitPath, logger: logger, locks: make(map[string]*sync.Mutex), commits: make(map[string]time.Time)}, nil
}

// Root returns the absolute data directory.
func (m *Manager) Root() string { return m.root }

// Source describes where a pull request's commits come from.
type Source struct {
	Repo planbot.Repo
	// CloneURL is the repository's clone_url (HTTPS). It must not carry
	// credentials.
	CloneURL string
	// Token is the installation access token sent as HTTP Basic
	// x-access-token:<token>. Empty means anonymous.
	Token string
	// PR is the pull request number; 0 fetches only the base branch.
	PR int
	// BaseRef is the base branch name, e.g. "main".
	BaseRef string
	// BaseSHA and HeadSHA are the commits that must be present after Sync.
	// Either may be empty.
	BaseSHA, HeadSHA string
	// ObjectsOnly makes Sync fetch BaseRef's commits without keeping a ref
	// of the branch in the cache: a branch a push just created (see
	// runner.Planner.Prefetch), whose pull request's plan needs its
	// commits, and which would otherwise leave a ref behind for every
	// branch ever pushed, weighing on every later fetch's negotiation.
	ObjectsOnly bool
	// Reuse makes Sync fetch nothing when BaseSHA and HeadSHA are both set
	// and already in the cache: a plan needs those commits and nothing
	// else. Leave it unset where the branch refs must be current, as
	// /apply's comparison with the base branch needs.
	Reuse bool
}

func (s Source) validate() error {
	if err := validRepo(s.Repo); err != nil {
		return err
	}
	if err := validCloneURL(s.CloneURL); err != nil {
		return err
	}
	if s.PR < 0 {
		return planbot.Errorf(planbot.EINVALID, "invalid pull request number %d", s.PR)
	}
	if s.PR == 0 && s.BaseRef == "" {
		return planbot.Errorf(planbot.EINVALID, "nothing to fetch for %s: no pull request and no base branch", s.Repo)
	}
	if s.BaseRef != "" && !validBranch(s.BaseRef) {
		return planbot.Errorf(planbot.EINVALID, "invalid branch name %q", s.BaseRef)
	}
	for _, sha := range []string{s.BaseSHA, s.HeadSHA} {
		if sha != "" && !validSHA(sha) {
			return planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
		}
	}
	return nil
}

var (
	repoPart  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	shaRE     = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	slugBadRE = regexp.MustCompile(`[^a-z0-9._-]+`)
)

func validRepo(r planbot.Repo) error {
	for _, p := range []string{r.Owner, r.Name} {
		if !repoPart.MatchString(p) || p == "." || p == ".." || strings.HasPrefix(p, "-") {
			return planbot.Errorf(planbot.EINVALID, "invalid repository %q", r.String())
		}
	}
	return nil
}

func validSHA(s string) bool { return shaRE.MatchString(s) }

// validBranch reports whether name is a branch name that is safe to put in
// a refspec: it follows git check-ref-format and cannot be read as an
// option.
func validBranch(name string) bool {
	if name == "" || name == "@" || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "/") ||
		strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") ||
		strings.Contains(name, "..") || strings.Contains(name, "//") || strings.Contains(name, "@{") {
		return false
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return false
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

func validCloneURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return planbot.Errorf(planbot.EINVALID, "invalid clone URL")
	}
	switch u.Scheme {
	case "https", "http", "file":
	default:
		return planbot.Errorf(planbot.EINVALID, "unsupported clone URL scheme %q", u.Scheme)
	}
	if u.User != nil {
		// Never echo the URL: it carries credentials.
		return planbot.Errorf(planbot.EINVALID, "clone URL must not contain credentials")
	}
	if u.Scheme != "file" && u.Host == "" {
		return planbot.Errorf(planbot.EINVALID, "clone URL %q has no host", raw)
	}
	return nil
}

// Slug returns a directory name for a project name or directory: lower-case
// letters, digits, '.', '_' and '-', at most 40 of them, followed by a short
// hash of name so that distinct names never share a directory. For example
// "envs/dev" becomes "envs-dev-" followed by 8 hex digits.
func Slug(name string) string {
	sum := sha256.Sum256([]byte(name))
	s := slugBadRE.ReplaceAllString(strings.ToLower(name), "-")
	s = strings.Trim(s, "-.")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-.")
	}
	if s == "" {
		s = "root"
	}
	return s + "-" + hex.EncodeToString(sum[:4])
}

func (m *Manager) cacheDir(r planbot.Repo) string {
	return filepath.Join(m.root, "repos", strings.ToLower(r.Owner), strings.ToLower(r.Name)+".git")
}

func (m *Manager) prDir(r planbot.Repo, pr int) string {
	return filepath.Join(m.root, "workspaces", strings.ToLower(r.Owner), strings.ToLower(r.Name), "pr-"+strconv.Itoa(pr))
}

// commitDirName returns the name of the directory that holds the worktrees
// of sha in the pull request of src.
func commitDirName(src Source, sha string) string {
	if sha == src.HeadSHA {
		return sha[:12]
	}
	return "base-" + sha[:12]
}

// lock takes the lock of the cache at dir, which serializes the work on
// one cache, and returns the function that releases it.
func (m *Manager) lock(dir string) (unlock func()) {
	m.mu.Lock()
	l, ok := m.locks[dir]
	if !ok {
		l = new(sync.Mutex)
		m.locks[dir] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

func (m *Manager) log(r planbot.Repo, pr int) *slog.Logger {
	l := m.logger.With("repo", r.String())
	if pr > 0 {
		l = l.With("pr", pr)
	}
	return l
}
