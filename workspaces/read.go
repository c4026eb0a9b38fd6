package workspaces

import (
	"context"
	"errors"
	"fmt"
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
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	if !validSHA(sha) {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
	}
	if path == "" || strings.HasPrefix(path, "/") || strings.ContainsRune(path, 0) {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid path %q", path)
	}
	cache := m.cacheDir(repo)
	if !exists(cache+"/HEAD") || !m.hasCommit(ctx, cache, sha) {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "commit %s of %s has not been fetched", sha, repo)
	}
	obj := sha + ":" + path
	typ, err := m.run(ctx, cache, "", "cat-file", "-t", "--", obj)
	if err != nil {
		var gerr *GitError
		if errors.As(err, &gerr) && ctx.Err() == nil {
			return nil, planbot.Errorf(planbot.ENOTFOUND, "%s has no file %s", short(sha), path)
		}
		return nil, fmt.Errorf("workspaces: read %s at %s: %w", path, short(sha), err)
	}
	if strings.TrimSpace(string(typ)) != "blob" {
		return nil, planbot.Errorf(planbot.ENOTFOUND, "%s of %s is not a file", path, short(sha))
	}
	data, err := m.run(ctx, cache, "", "cat-file", "blob", "--", obj)
	if err != nil {
		return nil, fmt.Errorf("workspaces: read %s at %s: %w", path, short(sha), err)
	}
	return data, nil
}

// PullHead returns the head commit of pull request pr as of the last Sync
// that fetched it, or an ENOTFOUND error when none did.
func (m *Manager) PullHead(ctx context.Context, repo planbot.Repo, pr int) (string, error) {
	if err := validRepo(repo); err != nil {
		return "", err
	}
	if pr <= 0 {
		return "", planbot.Errorf(planbot.EINVALID, "invalid pull request number %d", pr)
	}
	cache := m.cacheDir(repo)
	if !exists(cache + "/HEAD") {
		return "", planbot.Errorf(planbot.ENOTFOUND, "%s has not been fetched", repo)
	}
	out, err := m.run(ctx, cache, "", "rev-parse", "--verify", "--quiet", "refs/remotes/pull/"+strconv.Itoa(pr)+"/head^{commit}")
	if err != nil {
		return "", planbot.Errorf(planbot.ENOTFOUND, "pull request #%d of %s has not been fetched", pr, repo)
	}
	return strings.TrimSpace(string(out)), nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
