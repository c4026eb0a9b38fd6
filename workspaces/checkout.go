package workspaces

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/planbot/planbot"
)

// Checkout returns a directory holding the files of commit sha, isolated for
// the pull request of src and the project called name. The head commit
// (src.HeadSHA) goes to pr-<N>/<sha12>/<slug>, any other commit, such as the
// base, to pr-<N>/base-<sha12>/<slug>, where slug is Slug(name).
//
// The files are written in process from the cache's objects (see export),
// as git's checkout writes them, without a .git entry; a commit that only
// git checks out exactly (one with a .gitattributes file, say) becomes a
// detached git worktree instead.
//
// Checkout is idempotent: it reuses an existing directory that holds every
// file of sha unchanged, as `git status` would find a worktree clean
// (untracked files such as .terraform, plan files and local state are
// kept), and replaces any other. The commit must already be in the cache
// (see Sync); if it is not, the error has code ENOTFOUND.
func (m *Manager) Checkout(ctx context.Context, src Source, sha, name string) (string, error) {
	if err := validCheckout(src, sha, name); err != nil {
		return "", err
	}
	log := m.log(src.Repo, src.PR).With("sha", sha, "project", name)
	cache := m.cacheDir(src.Repo)
	dir := filepath.Join(m.prDir(src.Repo, src.PR), commitDirName(src, sha), Slug(name))

	defer m.lock(cache)()

	if err := m.fetched(ctx, cache, src.Repo, sha); err != nil {
		return "", err
	}
	if exists(dir) {
		if m.clean(ctx, cache, dir, sha) {
			log.Debug("reusing workspace", "dir", dir)
			return dir, nil
		}
		log.Info("replacing stale workspace", "dir", dir)
		if err := m.removeWorktree(ctx, cache, dir); err != nil {
			return "", fmt.Errorf("workspaces: replace %s: %w", dir, err)
		}
		if _, err := m.run(ctx, cache, "", "worktree", "prune"); err != nil {
			return "", fmt.Errorf("workspaces: replace %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", fmt.Errorf("workspaces: checkout: %w", err)
	}
	err := m.export(ctx, cache, sha, dir)
	if err == nil {
		log.Debug("workspace written", "dir", dir)
		return dir, nil
	}
	if !errors.Is(err, errNeedsGit) {
		return "", fmt.Errorf("workspaces: checkout %s of %s: %w", sha, src.Repo, err)
	}
	if _, err := m.run(ctx, cache, "", "worktree", "add", "--detach", "--quiet", "--", dir, sha); err != nil {
		// Leave nothing half-made behind for the next attempt.
		os.RemoveAll(dir)
		m.run(ctx, cache, "", "worktree", "prune")
		return "", fmt.Errorf("workspaces: checkout %s of %s: %w", sha, src.Repo, err)
	}
	log.Debug("workspace created", "dir", dir)
	return dir, nil
}

// clean reports whether the worktree at dir is checked out at sha and no
// tracked file is modified, or, for a directory without .git (written by
// export or CopyCheckout), whether it holds every file of sha unchanged.
// Untracked files are what terraform leaves behind (.terraform, the saved
// plan, local state) and are kept, so that an apply finds the workspace
// its plan was made in.
func (m *Manager) clean(ctx context.Context, cache, dir, sha string) bool {
	if !exists(filepath.Join(dir, ".git")) {
		return m.holdsCommit(ctx, cache, sha, dir)
	}
	// One process tells both: the "# branch.oid" header names HEAD's
	// commit, and every other line a modified tracked file.
	status, err := m.run(ctx, dir, "", "status", "--porcelain=v2", "--branch", "--untracked-files=no")
	if err != nil {
		return false
	}
	atSHA := false
	for _, line := range strings.Split(strings.TrimSpace(string(status)), "\n") {
		if oid, ok := strings.CutPrefix(line, "# branch.oid "); ok {
			atSHA = oid == sha
		} else if !strings.HasPrefix(line, "# ") {
			return false
		}
	}
	return atSHA
}

// removeWorktree removes the worktree at dir and its administrative files
// in cache; a later `git worktree prune` cleans up after a dir that git did
// not know. A copy (CopyCheckout), which has no .git entry, goes without
// git. The caller holds the cache's lock.
func (m *Manager) removeWorktree(ctx context.Context, cache, dir string) error {
	if exists(filepath.Join(cache, "HEAD")) && exists(filepath.Join(dir, ".git")) {
		// Fails when dir is not (or no longer) a registered worktree;
		// the RemoveAll and prune below handle that case.
		m.run(ctx, cache, "", "worktree", "remove", "--force", "--force", "--", dir)
	}
	return os.RemoveAll(dir)
}

// Remove removes one worktree of repo that Checkout returned, and nothing
// else: background work (a pre-render) cleans up after itself without
// pruning the worktrees of others that share its pull request number (a
// drift pass checks out the default branch as pull request 0 too).
func (m *Manager) Remove(ctx context.Context, repo planbot.Repo, dir string) error {
	if err := validRepo(repo); err != nil {
		return err
	}
	repoDir, dir := filepath.Join(m.root, "workspaces", strings.ToLower(repo.Owner), strings.ToLower(repo.Name)), filepath.Clean(dir)
	if dir == repoDir || !within(repoDir, dir) {
		return planbot.Errorf(planbot.EINVALID, "%s is not a workspace of %s", dir, repo)
	}
	cache := m.cacheDir(repo)
	defer m.lock(cache)()
	if err := m.removeWorktree(ctx, cache, dir); err != nil {
		return fmt.Errorf("workspaces: remove %s: %w", dir, err)
	}
	// Its commit directory goes too once it is empty.
	os.Remove(filepath.Dir(dir))
	if exists(filepath.Join(cache, "HEAD")) {
		if _, err := m.run(ctx, cache, "", "worktree", "prune"); err != nil {
			return fmt.Errorf("workspaces: remove %s: %w", dir, err)
		}
	}
	return nil
}

// Worktrees returns the paths of the worktrees registered in the cache of
// repo, without the cache itself.
func (m *Manager) Worktrees(ctx context.Context, repo planbot.Repo) ([]string, error) {
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	cache := m.cacheDir(repo)
	if !exists(filepath.Join(cache, "HEAD")) {
		return nil, nil
	}
	out, err := m.run(ctx, cache, "", "worktree", "list", "--porcelain")
	if err != nil {
		return nil, fmt.Errorf("workspaces: list worktrees of %s: %w", repo, err)
	}
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "worktree "); ok && p != cache {
			paths = append(paths, p)
		}
	}
	return paths, sc.Err()
}

// Cleanup removes every workspace of the pull request and forgets its head
// ref, so that git may later drop its objects. It is meant for closed pull
// requests and succeeds when there is nothing to remove.
func (m *Manager) Cleanup(ctx context.Context, repo planbot.Repo, pr int) error {
	if err := validRepo(repo); err != nil {
		return err
	}
	cache := m.cacheDir(repo)
	defer m.lock(cache)()
	if err := m.removeUnder(ctx, cache, m.prDir(repo, pr), nil); err != nil {
		return fmt.Errorf("workspaces: clean up %s#%d: %w", repo, pr, err)
	}
	if pr > 0 && exists(filepath.Join(cache, "HEAD")) {
		ref := fmt.Sprintf("refs/remotes/pull/%d/head", pr)
		if _, err := m.run(ctx, cache, "", "update-ref", "-d", ref); err != nil {
			return fmt.Errorf("workspaces: clean up %s#%d: %w", repo, pr, err)
		}
	}
	m.log(repo, pr).Info("workspaces removed")
	return nil
}

// Prune removes the workspaces of the pull request except those of the
// commits in keep (checked out as head or as base), e.g. after the pull
// request got a new head.
func (m *Manager) Prune(ctx context.Context, repo planbot.Repo, pr int, keep ...string) error {
	if err := validRepo(repo); err != nil {
		return err
	}
	keepNames := make(map[string]bool)
	for _, sha := range keep {
		if !validSHA(sha) {
			return planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
		}
		keepNames[sha[:12]] = true
		keepNames["base-"+sha[:12]] = true
	}
	cache := m.cacheDir(repo)
	defer m.lock(cache)()
	if err := m.removeUnder(ctx, cache, m.prDir(repo, pr), keepNames); err != nil {
		return fmt.Errorf("workspaces: prune %s#%d: %w", repo, pr, err)
	}
	return nil
}

// removeUnder removes the worktrees in the commit directories of prDir
// whose names are not in keep, and prDir itself when keep is empty. It
// runs `git worktree prune` only when it removed a worktree. The caller
// holds the cache's lock.
func (m *Manager) removeUnder(ctx context.Context, cache, prDir string, keep map[string]bool) error {
	entries, err := os.ReadDir(prDir)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pruned := false
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		commitDir := filepath.Join(prDir, e.Name())
		if e.IsDir() {
			projects, err := os.ReadDir(commitDir)
			if err != nil {
				return err
			}
			for _, p := range projects {
				dir := filepath.Join(commitDir, p.Name())
				pruned = pruned || exists(filepath.Join(dir, ".git"))
				if err := m.removeWorktree(ctx, cache, dir); err != nil {
					return err
				}
			}
		}
		if err := os.RemoveAll(commitDir); err != nil {
			return err
		}
	}
	if len(keep) == 0 {
		if err := os.RemoveAll(prDir); err != nil {
			return err
		}
	}
	if pruned && exists(filepath.Join(cache, "HEAD")) {
		if _, err := m.run(ctx, cache, "", "worktree", "prune"); err != nil {
			return err
		}
	}
	return nil
}

// validCheckout checks what Checkout and CopyCheckout are asked for: a
// valid repository, commit SHA and pull request number, and a project name.
func validCheckout(src Source, sha, name string) error {
	if err := validRepo(src.Repo); err != nil {
		return err
	}
	if !validSHA(sha) {
		return planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
	}
	if name == "" {
		return planbot.Errorf(planbot.EINVALID, "empty project name")
	}
	if src.PR < 0 {
		return planbot.Errorf(planbot.EINVALID, "invalid pull request number %d", src.PR)
	}
	return nil
}
