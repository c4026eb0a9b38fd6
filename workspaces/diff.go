package workspaces

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/planbot/planbot"
)

// ChangedFiles lists the files that headSHA changes relative to its merge
// base with baseSHA, as GitHub's pull request file list does, with renames
// detected. Both commits must be in the cache (see Sync). Statuses are
// GitHub's: added, removed, modified, renamed, copied, changed (type change).
func (m *Manager) ChangedFiles(ctx context.Context, repo planbot.Repo, baseSHA, headSHA string) ([]planbot.ChangedFile, error) {
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	for _, sha := range []string{baseSHA, headSHA} {
		if !validSHA(sha) {
			return nil, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sha)
		}
	}
	cache := m.cacheDir(repo)
	for _, sha := range []string{baseSHA, headSHA} {
		if err := m.fetched(ctx, cache, repo, sha); err != nil {
			return nil, err
		}
	}
	out, err := m.run(ctx, cache, "", "diff", "--name-status", "-M", "-z", "--no-ext-diff", "--no-textconv",
		baseSHA+"..."+headSHA, "--")
	if err != nil {
		return nil, fmt.Errorf("workspaces: diff %s %s...%s: %w", repo, baseSHA, headSHA, err)
	}
	files, err := ParseNameStatus(out)
	if err != nil {
		return nil, fmt.Errorf("workspaces: diff %s %s...%s: %w", repo, baseSHA, headSHA, err)
	}
	return files, nil
}

// ParseNameStatus parses the output of `git diff --name-status -z`: a
// status field followed by one path, or two for renames and copies, each
// terminated by NUL.
func ParseNameStatus(out []byte) ([]planbot.ChangedFile, error) {
	fields := bytes.Split(out, []byte{0})
	if n := len(fields); n > 0 && len(fields[n-1]) == 0 {
		fields = fields[:n-1]
	}
	files := []planbot.ChangedFile{}
	for i := 0; i < len(fields); {
		st := string(fields[i])
		if st == "" {
			return nil, fmt.Errorf("empty status at field %d", i)
		}
		paths := 1
		if st[0] == 'R' || st[0] == 'C' {
			paths = 2
		}
		if i+paths >= len(fields) {
			return nil, fmt.Errorf("truncated entry for status %q", st)
		}
		f := planbot.ChangedFile{Path: string(fields[i+paths])}
		switch st[0] {
		case 'A':
			f.Status = "added"
		case 'D':
			f.Status = "removed"
		case 'M':
			f.Status = "modified"
		case 'T':
			f.Status = "changed"
		case 'R':
			f.Status, f.PreviousPath = "renamed", string(fields[i+1])
		case 'C':
			f.Status, f.PreviousPath = "copied", string(fields[i+1])
		default:
			return nil, fmt.Errorf("unexpected status %q for %q", st, f.Path)
		}
		files = append(files, f)
		i += 1 + paths
	}
	return files, nil
}

// BaseTouched reports whether the base branch moved past sinceSHA with a
// commit that changes any of dirs: a plan made on sinceSHA is then stale.
// The base branch is read from the cache as of the last Sync.
func (m *Manager) BaseTouched(ctx context.Context, repo planbot.Repo, baseRef, sinceSHA string, dirs []string) (bool, error) {
	if err := validRepo(repo); err != nil {
		return false, err
	}
	if !validSHA(sinceSHA) {
		return false, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", sinceSHA)
	}
	args := []string{"log", "--format=%H", "-n", "1", sinceSHA + "..refs/remotes/origin/" + baseRef, "--"}
	for _, d := range dirs {
		if d == "." || d == "" {
			d = "."
		}
		args = append(args, d)
	}
	out, err := m.run(ctx, m.cacheDir(repo), "", args...)
	if err != nil {
		return false, fmt.Errorf("workspaces: log %s %s..%s: %w", repo, sinceSHA, baseRef, err)
	}
	return len(bytes.TrimSpace(out)) > 0, nil
}

// HeadContainsBase reports whether headSHA contains the tip of the base
// branch as of the last Sync: false means the PR has diverged from its
// base and would merge code nobody planned together with it.
func (m *Manager) HeadContainsBase(ctx context.Context, repo planbot.Repo, baseRef, headSHA string) (bool, error) {
	if err := validRepo(repo); err != nil {
		return false, err
	}
	if !validSHA(headSHA) {
		return false, planbot.Errorf(planbot.EINVALID, "invalid commit SHA %q", headSHA)
	}
	_, err := m.run(ctx, m.cacheDir(repo), "", "merge-base", "--is-ancestor", "refs/remotes/origin/"+baseRef, headSHA)
	if err == nil {
		return true, nil
	}
	var gerr *GitError
	if errors.As(err, &gerr) {
		var exit *exec.ExitError
		if errors.As(gerr.Err, &exit) && exit.ExitCode() == 1 {
			return false, nil
		}
	}
	return false, fmt.Errorf("workspaces: merge-base %s %s %s: %w", repo, baseRef, headSHA, err)
}
