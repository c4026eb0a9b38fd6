package workspaces

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/planbot/planbot"
)

// ReadFile returns the content of the file at path in commit sha, read from
// the repository cache without a checkout. The commit must be in the cache
// (see Sync). A path that names no file of the commit (missing, a
// directory or a submodule) gives an ENOTFOUND error, as GitHub's contents
// API answers 404.
func (m *Manager) ReadFile(ctx context.Context, repo planbot.Repo, sha, path string) ([]byte, error) {
	files, err := m.ReadFiles(ctx, repo, sha, path)
	if err != nil {
		return nil, err
	}
	return FileIn(files, sha, path)
}

// FileIn returns the contents of path among files, what ReadFiles read of
// commit sha; the error has code ENOTFOUND when the commit has no such
// file.
func FileIn(files map[string][]byte, sha, path string) ([]byte, error) {
	data, ok := files[path]
	if !ok {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "%s has no file %s", short(sha), path)
	}
	return data, nil
}

// ReadFiles returns the files at paths in commit sha that exist, by path,
// read from the repository cache through its object reader (one `git
// cat-file --batch` that serves many reads), all in one request. A path
// that names no file of the commit (missing, a directory or a submodule)
// is not in the map. The commit must be in the cache (see Sync); if it is
// not, the error has code ENOTFOUND.
//
// What a commit holds never changes, so what ReadFiles found, or found
// missing, is remembered (see fileMemory): reading the same small files of
// the same commit again, as every plan of pull requests on one base does,
// runs no git process.
func (m *Manager) ReadFiles(ctx context.Context, repo planbot.Repo, sha string, paths ...string) (map[string][]byte, error) {
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	if !validSHA(sha) {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
	}
	for _, p := range paths {
		if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\n\r") {
			return nil, planbot.Errorf(planbot.EINVALID, "invalid path %q", p)
		}
	}
	cache := m.cacheDir(repo)
	files := make(map[string][]byte, len(paths))
	var want []string
	for _, p := range paths {
		if data, found, ok := m.files.get(cache, sha, p); !ok {
			want = append(want, p)
		} else if found {
			files[p] = data
		}
	}
	if len(want) == 0 {
		return files, nil
	}
	if err := m.fetched(ctx, cache, repo, sha); err != nil {
		return nil, err
	}
	names := make([]string, len(want))
	for i, p := range want {
		names[i] = sha + ":" + p
	}
	read := make(map[string][]byte, len(want))
	err := m.readObjects(ctx, cache, names, func(i int, o object, content io.Reader) error {
		if o.typ != "blob" {
			return nil // missing, a directory or a submodule
		}
		data, err := io.ReadAll(content)
		read[want[i]] = data
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("workspaces: read files at %s: %w", short(sha), err)
	}
	for _, p := range want {
		data, found := read[p]
		m.files.put(cache, sha, p, data, found)
		if found {
			files[p] = data
		}
	}
	return files, nil
}

// Paths returns the path of every file of commit sha (symlinks and
// submodules included), as `git ls-tree -r` names them. The commit must
// have been fetched.
func (m *Manager) Paths(ctx context.Context, repo planbot.Repo, sha string) ([]string, error) {
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	if !validSHA(sha) {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
	}
	cache := m.cacheDir(repo)
	if err := m.fetched(ctx, cache, repo, sha); err != nil {
		return nil, err
	}
	out, err := m.run(ctx, cache, "", "ls-tree", "-r", "-z", "--name-only", "--full-tree", sha)
	if err != nil {
		return nil, fmt.Errorf("workspaces: list files at %s: %w", short(sha), err)
	}
	paths := strings.Split(string(out), "\x00")
	if n := len(paths); n > 0 && paths[n-1] == "" {
		paths = paths[:n-1]
	}
	return paths, nil
}

// fetched returns an ENOTFOUND error unless cache, the cache of repo,
// holds commit sha.
func (m *Manager) fetched(ctx context.Context, cache string, repo planbot.Repo, sha string) error {
	if !exists(filepath.Join(cache, "HEAD")) || !m.hasCommit(ctx, cache, sha) {
		return planbot.Errorf(planbot.ENOTFOUND, "commit %s of %s has not been fetched", sha, repo)
	}
	return nil
}

// PullHead returns the head commit of pull request pr as of the last Sync
// that fetched it, or an ENOTFOUND error when none did.
func (m *Manager) PullHead(ctx context.Context, repo planbot.Repo, pr int) (string, error) {
	if pr <= 0 {
		return "", planbot.Errorf(planbot.EINVALID, "invalid pull request number %d", pr)
	}
	return m.refTip(ctx, repo, "refs/remotes/pull/"+strconv.Itoa(pr)+"/head", fmt.Sprintf("pull request #%d", pr))
}

// BranchTip returns the tip of branch as of the last Sync that fetched it
// as a base branch, or an ENOTFOUND error when none did.
func (m *Manager) BranchTip(ctx context.Context, repo planbot.Repo, branch string) (string, error) {
	if !validBranch(branch) {
		return "", planbot.Errorf(planbot.EINVALID, "invalid branch name %q", branch)
	}
	return m.refTip(ctx, repo, "refs/remotes/origin/"+branch, fmt.Sprintf("branch %q", branch))
}

// refTip returns the commit that ref names in repo's cache; what names the
// ref in the error when there is none.
func (m *Manager) refTip(ctx context.Context, repo planbot.Repo, ref, what string) (string, error) {
	if err := validRepo(repo); err != nil {
		return "", err
	}
	cache := m.cacheDir(repo)
	if !exists(cache + "/HEAD") {
		return "", planbot.Errorf(planbot.ENOTFOUND, "%s has not been fetched", repo)
	}
	if sha, ok := looseRef(cache, ref); ok {
		return sha, nil
	}
	out, err := m.run(ctx, cache, "", "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", planbot.Errorf(planbot.ENOTFOUND, "%s of %s has not been fetched", what, repo)
	}
	return strings.TrimSpace(string(out)), nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// looseRef returns the commit that ref names when git keeps it as a loose
// ref file in the repository at cache, as a fetch writes it (the cache is
// never packed: gc is off), without a git process. ok is false for
// anything else (a packed or symbolic ref, another ref storage), which
// `git rev-parse` then resolves.
func looseRef(cache, ref string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(cache, filepath.FromSlash(ref)))
	if err != nil {
		return "", false
	}
	sha := strings.TrimSuffix(string(b), "\n")
	return sha, validSHA(sha)
}
