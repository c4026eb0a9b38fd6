package workspaces

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/planbot/planbot"
)

// CopyCheckout returns a directory holding the files of commit sha,
// isolated for the pull request of src and the project called name, at the
// path Checkout gives it, made in process from tree: a checkout of the same
// commit that Checkout returned for the same pull request (its shared
// "_tree"), which nothing writes to. The copy has every file, directory
// and symlink of tree with its permission bits, but no .git entry: it is a
// plain directory, not a git worktree, so making it runs no git process
// and waits for no lock of the repository cache, and removing it (Prune,
// Cleanup, Remove) runs none either.
//
// Like Checkout, CopyCheckout reuses an existing copy that still holds
// every file, directory and symlink of tree unchanged (files that are not
// in tree, such as .terraform, plan files and local state, are kept), and
// replaces any other directory with a fresh copy.
func (m *Manager) CopyCheckout(ctx context.Context, src Source, sha, name, tree string) (string, error) {
	if err := validCheckout(src, sha, name); err != nil {
		return "", err
	}
	commitDir := filepath.Join(m.prDir(src.Repo, src.PR), commitDirName(src, sha))
	dir := filepath.Join(commitDir, Slug(name))
	tree = filepath.Clean(tree)
	if filepath.Dir(tree) != commitDir || tree == dir {
		return "", planbot.Errorf(planbot.EINVALID, "%s is not another checkout of %s in this pull request", tree, short(sha))
	}
	if info, err := os.Stat(tree); err != nil || !info.IsDir() {
		return "", planbot.Errorf(planbot.ENOTFOUND, "%s is not checked out", tree)
	}
	log := m.log(src.Repo, src.PR).With("sha", sha, "project", name, "dir", dir)
	if exists(dir) && !exists(filepath.Join(dir, ".git")) {
		if holdsTree(ctx, tree, dir) {
			log.Debug("reusing workspace copy")
			return dir, nil
		}
		log.Info("replacing stale workspace copy")
	}
	tmp, err := os.MkdirTemp(commitDir, ".copy-")
	if err != nil {
		return "", fmt.Errorf("workspaces: copy checkout: %w", err)
	}
	if err := copyTree(ctx, tree, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("workspaces: copy checkout of %s: %w", short(sha), err)
	}
	if exists(dir) {
		if err := m.replace(ctx, src.Repo, dir); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("workspaces: replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("workspaces: copy checkout: %w", err)
	}
	log.Debug("workspace copied")
	return dir, nil
}

// holdsTree reports whether dir holds every entry of the checkout at tree
// (its .git entry aside) unchanged: the same kind, permission bits, file
// content and symlink target. Entries of dir that tree lacks do not
// matter.
func holdsTree(ctx context.Context, tree, dir string) bool {
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(tree, p)
		if err != nil || rel == "." {
			return err
		}
		if rel == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		want, err := d.Info()
		if err != nil {
			return err
		}
		target := filepath.Join(dir, rel)
		got, err := os.Lstat(target)
		if err != nil {
			return err
		}
		if got.Mode().Type() != want.Mode().Type() || (!want.IsDir() && got.Mode().Perm() != want.Mode().Perm()) {
			return errChanged
		}
		switch {
		case want.Mode()&fs.ModeSymlink != 0:
			a, errA := os.Readlink(p)
			b, errB := os.Readlink(target)
			if errA != nil || errB != nil || a != b {
				return errChanged
			}
		case want.Mode().IsRegular():
			if got.Size() != want.Size() || !sameContent(p, target) {
				return errChanged
			}
		}
		return nil
	})
	return err == nil
}

var errChanged = errors.New("changed")

// sameContent reports whether the files at a and b hold the same bytes.
func sameContent(a, b string) bool {
	x, err := os.ReadFile(a)
	if err != nil {
		return false
	}
	y, err := os.ReadFile(b)
	return err == nil && bytes.Equal(x, y)
}

// replace removes the workspace at dir before a fresh copy takes its place:
// a copy goes without git, a worktree (an earlier Checkout of the same
// name) through git, under the cache's lock.
func (m *Manager) replace(ctx context.Context, repo planbot.Repo, dir string) error {
	if !exists(filepath.Join(dir, ".git")) {
		return os.RemoveAll(dir)
	}
	cache := m.cacheDir(repo)
	defer m.lock(cache)()
	if err := m.removeWorktree(ctx, cache, dir); err != nil {
		return err
	}
	_, err := m.run(ctx, cache, "", "worktree", "prune")
	return err
}

// copyTree copies the checkout at src into the existing, empty directory
// dst: directories, regular files and symlinks (their targets as they
// are), with their permission bits, leaving out the worktree's own .git
// entry. Anything else (a device, a socket) is an error, since no git
// checkout holds one.
func copyTree(ctx context.Context, src, dst string) error {
	if info, err := os.Stat(src); err != nil {
		return err
	} else if err := os.Chmod(dst, info.Mode().Perm()|0o700); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		switch {
		case rel == ".":
			return nil
		case rel == ".git":
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return os.Mkdir(target, mode.Perm()|0o700)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case mode.IsRegular():
			return copyFile(p, target, mode.Perm())
		default:
			return fmt.Errorf("%s is not a file, directory or symlink", strings.TrimPrefix(rel, "./"))
		}
	})
}

// copyFile copies the regular file src to the new file dst with permission
// bits perm. io.Copy between two files lets the kernel copy the bytes
// (copy_file_range on Linux).
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeNew(dst, in, perm)
}

// writeNew writes what r holds into the new file path, with permission
// bits perm (less the umask); it fails when path exists.
func writeNew(path string, r io.Reader, perm fs.FileMode) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// WorkspaceOf returns the workspace that holds path, a file or directory
// inside a directory that Checkout or CopyCheckout returned: the directory
// a terraform run there may write to, as terraform.Root names it.
func (m *Manager) WorkspaceOf(path string) (string, error) {
	base := filepath.Join(m.root, "workspaces")
	rel, err := filepath.Rel(base, filepath.Clean(path))
	if err != nil || !filepath.IsLocal(rel) {
		return "", planbot.Errorf(planbot.EINVALID, "%s is not in a workspace", path)
	}
	// <owner>/<repo>/pr-<N>/<commit>/<slug>
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) < 5 {
		return "", planbot.Errorf(planbot.EINVALID, "%s is not in a workspace", path)
	}
	return filepath.Join(append([]string{base}, parts[:5]...)...), nil
}
