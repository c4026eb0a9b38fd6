package workspaces

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot"
)

// Sync brings the repository cache of src up to date: it creates the cache
// on first use, fetches the base branch and the pull request head in one
// fetch (git negotiates, so only objects the cache lacks travel), and
// verifies that src.BaseSHA and src.HeadSHA are present. When a commit is
// missing (the pull request moved while the fetch ran) it fetches once more
// and then fails with an ECONFLICT error naming the commit. A refused token
// gives an EUNAUTHORIZED error. With src.Reuse, a cache that holds both
// commits already, and whose ref of the pull request names its head or is
// not there, is not fetched at all.
func (m *Manager) Sync(ctx context.Context, src Source) error {
	if err := src.validate(); err != nil {
		return err
	}
	log := m.log(src.Repo, src.PR).With("sha", src.HeadSHA)
	cache := m.cacheDir(src.Repo)
	defer m.lock(cache)()

	if err := m.initCache(ctx, cache); err != nil {
		return fmt.Errorf("workspaces: create cache of %s: %w", src.Repo, err)
	}
	want := make([]string, 0, 2)
	for _, sha := range []string{src.HeadSHA, src.BaseSHA} {
		if sha != "" {
			want = append(want, sha)
		}
	}
	if src.Reuse && len(want) == 2 && len(m.missing(ctx, cache, want)) == 0 && m.pullRefAgrees(ctx, src) {
		log.Debug("cache has both commits; nothing fetched")
		return nil
	}
	var missing []string
	for attempt := 1; attempt <= 2; attempt++ {
		if err := m.fetch(ctx, cache, src); err != nil {
			log.Error("git fetch failed", "err", err)
			return err
		}
		missing = m.missing(ctx, cache, want)
		if len(missing) == 0 {
			log.Debug("cache synced", "attempt", attempt)
			return nil
		}
		log.Warn("commits missing after fetch", "missing", missing, "attempt", attempt)
	}
	return planbot.Errorf(planbot.ECONFLICT,
		"commit %s of %s was not found after fetching; the pull request may have been updated or force-pushed",
		strings.Join(missing, ", "), src.Repo)
}

// pullRefAgrees reports whether the cache's ref of the pull request of
// src, as the last fetch left it, names src.HeadSHA or does not exist (its
// commits came with the push of a new branch, see runner.Prefetch). A
// fetch skipped while it names another commit would leave PullHead
// telling of a pull request that moved on when it did not.
func (m *Manager) pullRefAgrees(ctx context.Context, src Source) bool {
	if src.PR <= 0 {
		return true
	}
	head, err := m.PullHead(ctx, src.Repo, src.PR)
	return err != nil || head == src.HeadSHA // an error: no such ref
}

// initCache creates the bare repository at dir unless it exists. It is
// built under a temporary name and renamed, so a crash never leaves a
// half-made cache behind.
func (m *Manager) initCache(ctx context.Context, dir string) error {
	if exists(filepath.Join(dir, "HEAD")) {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := m.run(ctx, parent, "", "init", "--bare", "--quiet", "--", tmp); err != nil {
		return err
	}
	// The samples are never run (hooks are off), drop them anyway.
	os.RemoveAll(filepath.Join(tmp, "hooks"))
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	m.closeReader(dir)
	return os.Rename(tmp, dir)
}

// refspecs returns what Sync fetches for src.
func refspecs(src Source) []string {
	var specs []string
	switch {
	case src.BaseRef != "" && src.ObjectsOnly:
		specs = append(specs, "refs/heads/"+src.BaseRef)
	case src.BaseRef != "":
		specs = append(specs, "+refs/heads/"+src.BaseRef+":refs/remotes/origin/"+src.BaseRef)
	}
	if src.PR > 0 {
		n := strconv.Itoa(src.PR)
		specs = append(specs, "+refs/pull/"+n+"/head:refs/remotes/pull/"+n+"/head")
	}
	return specs
}

// fetchArgs returns the arguments of the fetch of src. The URL goes after
// "--" and carries no credentials; the token travels in the environment.
// Every refspec forces its update ("+"), so git's search for forced
// updates, a walk of history per ref that only its report uses, is off.
func fetchArgs(src Source) []string {
	args := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--no-show-forced-updates", "--", src.CloneURL}
	return append(args, refspecs(src)...)
}

func (m *Manager) fetch(ctx context.Context, cache string, src Source) error {
	_, err := m.run(ctx, cache, src.Token, fetchArgs(src)...)
	if err == nil {
		return nil
	}
	var gerr *GitError
	if errors.As(err, &gerr) && authFailed(gerr.Stderr) {
		return &planbot.Error{
			Code:    planbot.EUNAUTHORIZED,
			Message: fmt.Sprintf("fetching %s was refused: the installation token is invalid or lacks the contents permission", src.Repo),
			Err:     err,
		}
	}
	if errors.As(err, &gerr) && strings.Contains(gerr.Stderr, "couldn't find remote ref") {
		return &planbot.Error{
			Code:    planbot.ENOTFOUND,
			Message: fmt.Sprintf("fetching %s: branch %q or pull request #%d not found", src.Repo, src.BaseRef, src.PR),
			Err:     err,
		}
	}
	return fmt.Errorf("workspaces: fetch %s: %w", src.Repo, err)
}

// authFailed reports whether git's stderr says the server refused the
// credentials.
func authFailed(stderr string) bool {
	for _, s := range []string{
		"Authentication failed",
		"could not read Username",
		"could not read Password",
		"The requested URL returned error: 401",
		"The requested URL returned error: 403",
	} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// missing returns the commits of shas that are not in the cache.
func (m *Manager) missing(ctx context.Context, cache string, shas []string) []string {
	var out []string
	for _, sha := range shas {
		if !m.hasCommit(ctx, cache, sha) {
			out = append(out, sha)
		}
	}
	return out
}

// commitMemory is how long hasCommit trusts that a commit it found is
// still there without asking git again, and commitMemorySize how many it
// remembers. git removes an object only when it is unreachable and older
// than gc.pruneExpire (two weeks by default), so an hour is safe; and a
// commit that went away all the same makes the git command that needs it
// fail, never succeed with other content.
const (
	commitMemory     = time.Hour
	commitMemorySize = 4096
)

// hasCommit reports whether the commit sha is in the repository at dir.
// A plan asks about the same commits a dozen times (sync, checkouts, file
// reads); each answer yes is remembered for commitMemory, saving a git
// process each time. sha names a commit (a pull request's head or base,
// as GitHub gives them), so an object of that name is taken to be it.
func (m *Manager) hasCommit(ctx context.Context, dir, sha string) bool {
	key := dir + "\x00" + sha
	m.mu.Lock()
	seen, ok := m.commits[key]
	m.mu.Unlock()
	if ok && time.Since(seen) < commitMemory {
		return true
	}
	// A fetch of a few objects, such as a pull request's new commits,
	// leaves them loose: such a commit is seen without a git process.
	if !exists(filepath.Join(dir, "objects", sha[:2], sha[2:])) {
		found := false
		err := m.readObjects(ctx, dir, []string{sha + "^{commit}"}, func(_ int, o object, _ io.Reader) error {
			found = o.typ == "commit"
			return nil
		})
		if err != nil || !found {
			return false
		}
	}
	m.mu.Lock()
	if len(m.commits) >= commitMemorySize {
		clear(m.commits)
	}
	m.commits[key] = time.Now()
	m.mu.Unlock()
	return true
}
