package workspaces

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

// entry is what a copy must keep of one entry of a checkout.
type entry struct {
	Mode fs.FileMode
	Data string // a file's content or a symlink's target
}

// listTree returns every entry under dir but its top-level .git, by
// slash-separated relative path.
func listTree(t *testing.T, dir string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{Mode: info.Mode()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Data, err = os.Readlink(p)
		case info.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.Data = string(b)
		}
		out[filepath.ToSlash(rel)] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCopyCheckout copies the head checkout of a commit with an executable
// file, a symlink and nested directories for a project: the copy has the
// same entries, modes, contents and link targets as git's checkout, no
// .git entry and no worktree, and writes to it never reach the shared
// checkout. A second copy replaces the first; Prune and Cleanup remove
// copies with the rest.
func TestCopyCheckout(t *testing.T) {
	ctx := context.Background()
	o := newOrigin(t)
	base, _ := setupPR(o)
	if err := os.WriteFile(filepath.Join(o.work, "envs/dev/run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../modules/app", filepath.Join(o.work, "envs/dev/app")); err != nil {
		t.Fatal(err)
	}
	gitT(t, o.work, "add", "--", "envs/dev/run.sh", "envs/dev/app")
	head := o.commit(map[string]string{"modules/app/deep/main.tf": "app = 1\n"}, "exec and link")
	o.push(head, "refs/pull/3/head")
	m, _, src := o.synced(3, base, head)
	tree, err := m.Checkout(ctx, src, head, "_tree")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := m.CopyCheckout(ctx, src, head, "envs/dev", tree)
	if err != nil {
		t.Fatalf("CopyCheckout: %v", err)
	}
	if want := filepath.Join(filepath.Dir(tree), Slug("envs/dev")); dir != want {
		t.Errorf("CopyCheckout = %s, want %s", dir, want)
	}
	want := listTree(t, gitCheckout(t, o, head))
	if diff := cmp.Diff(listTree(t, tree), want); diff != "" {
		t.Errorf("Checkout differs from git's checkout (-Checkout +git):\n%s", diff)
	}
	if want["envs/dev/run.sh"].Mode.Perm()&0o100 == 0 || want["envs/dev/app"].Mode&fs.ModeSymlink == 0 {
		t.Fatalf("git's checkout lacks the executable file or the symlink: %v", want)
	}
	if diff := cmp.Diff(listTree(t, dir), want); diff != "" {
		t.Errorf("copy differs from git's checkout (-copy +checkout):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf("copy has a .git entry (err %v)", err)
	}
	assertCheckouts(t, m, src.Repo, []string{tree, dir})

	// A copy whose files are as the commit has them is reused, with what
	// runs added to it; writes in it never reach the shared checkout.
	if err := os.WriteFile(filepath.Join(dir, "envs/dev/planbot.tfplan"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, err := m.CopyCheckout(ctx, src, head, "envs/dev", tree); err != nil || again != dir {
		t.Fatalf("second CopyCheckout = %s, %v; want %s", again, err, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs/dev/planbot.tfplan")); err != nil {
		t.Errorf("a clean copy was not reused: %v", err)
	}
	// A copy with a changed, removed or re-permissioned file of the
	// commit is replaced whole.
	for name, change := range map[string]func() error{
		"changed file":     func() error { return os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte("dev = 9\n"), 0o644) },
		"same-size change": func() error { return os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte("dev = 3\n"), 0o644) },
		"removed file":     func() error { return os.Remove(filepath.Join(dir, "envs/dev/main.tf")) },
		"mode":             func() error { return os.Chmod(filepath.Join(dir, "envs/dev/run.sh"), 0o644) },
		"symlink target": func() error {
			os.Remove(filepath.Join(dir, "envs/dev/app"))
			return os.Symlink("/etc", filepath.Join(dir, "envs/dev/app"))
		},
	} {
		if err := os.WriteFile(filepath.Join(dir, "envs/dev/planbot.tfplan"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(tree, "envs/dev/main.tf")); got != "dev = 2\n" {
			t.Fatalf("%s: shared checkout's main.tf = %q after a write to the copy", name, got)
		}
		if again, err := m.CopyCheckout(ctx, src, head, "envs/dev", tree); err != nil || again != dir {
			t.Fatalf("%s: CopyCheckout = %s, %v; want %s", name, again, err, dir)
		}
		if diff := cmp.Diff(listTree(t, dir), want); diff != "" {
			t.Errorf("%s: copy not replaced (-copy +checkout):\n%s", name, diff)
		}
	}

	// Checkout over a copy (an /apply whose plan file is gone) reuses it
	// while it holds the commit's files, and replaces it otherwise.
	if err := os.WriteFile(filepath.Join(dir, "envs/dev/planbot.tfplan"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if wt, err := m.Checkout(ctx, src, head, "envs/dev"); err != nil || wt != dir {
		t.Fatalf("Checkout over a copy = %s, %v; want %s", wt, err, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs/dev/planbot.tfplan")); err != nil {
		t.Errorf("Checkout over a clean copy did not reuse it: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte("dev = 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if wt, err := m.Checkout(ctx, src, head, "envs/dev"); err != nil || wt != dir {
		t.Fatalf("Checkout over a changed copy = %s, %v; want %s", wt, err, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs/dev/planbot.tfplan")); !os.IsNotExist(err) {
		t.Errorf("Checkout over a changed copy kept the copy's files (err %v)", err)
	}
	if diff := cmp.Diff(listTree(t, dir), want); diff != "" {
		t.Errorf("Checkout over a changed copy (-Checkout +git):\n%s", diff)
	}

	// Prune of an older head removes copies; Cleanup removes everything.
	head2 := o.commit(map[string]string{"envs/dev/main.tf": "dev = 3\n"}, "more")
	o.push(head2, "refs/pull/3/head")
	if err := m.Prune(ctx, src.Repo, 3, head2, base); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("Prune left the old head's directory (err %v)", err)
	}
	if err := m.Cleanup(ctx, src.Repo, 3); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	assertCheckouts(t, m, src.Repo, nil)
}

// TestCopyCheckoutOfWorktree copies a commit that Checkout made a git
// worktree of (it has a .gitattributes file): the copy has no .git, and
// replaces a worktree of the same name, which git then forgets.
func TestCopyCheckoutOfWorktree(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t, true)
	m, src, head := pr.m, pr.src, pr.head
	tree := pr.checkout(t, head, "_tree")
	wt := pr.checkout(t, head, "envs/prod")
	assertCheckouts(t, m, src.Repo, []string{tree, wt})
	dir, err := m.CopyCheckout(ctx, src, head, "envs/prod", tree)
	if err != nil || dir != wt {
		t.Fatalf("CopyCheckout over a worktree = %s, %v; want %s", dir, err, wt)
	}
	if diff := cmp.Diff(listTree(t, dir), listTree(t, gitCheckout(t, pr.o, head))); diff != "" {
		t.Errorf("copy differs from git's checkout (-copy +git):\n%s", diff)
	}
	assertCheckouts(t, m, src.Repo, []string{tree, dir})
}

// gitCheckout returns a checkout of commit sha of o that git made (a
// worktree of o's working clone), to compare others with.
func gitCheckout(t *testing.T, o *origin, sha string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "git")
	gitT(t, o.work, "worktree", "add", "--quiet", "--detach", dir, sha)
	return dir
}

// TestCopyCheckoutRefusesOtherTrees: the tree to copy must be another
// checkout of the same commit in the same pull request, and checked out.
func TestCopyCheckoutRefusesOtherTrees(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	m, src, base, head := pr.m, pr.src, pr.base, pr.head
	baseTree := pr.checkout(t, base, "_tree")
	headTree := pr.checkout(t, head, "_tree")
	other := src
	other.PR = 2
	cases := []struct {
		name, sha, tree string
		src             Source
		code            string
	}{
		{name: "base tree for the head", sha: head, tree: baseTree, src: src, code: planbot.EINVALID},
		{name: "another pull request's tree", sha: head, tree: headTree, src: other, code: planbot.EINVALID},
		{name: "a directory elsewhere", sha: head, tree: t.TempDir(), src: src, code: planbot.EINVALID},
		{name: "itself", sha: head, tree: filepath.Join(filepath.Dir(headTree), Slug("envs/dev")), src: src, code: planbot.EINVALID},
		{name: "not checked out", sha: head, tree: filepath.Join(filepath.Dir(headTree), Slug("nothing")), src: src, code: planbot.ENOTFOUND},
	}
	for _, c := range cases {
		_, err := m.CopyCheckout(ctx, c.src, c.sha, "envs/dev", c.tree)
		if got := planbot.ErrorCode(err); got != c.code {
			t.Errorf("%s: code %q, want %q (err %v)", c.name, got, c.code, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(headTree)); len(entries) != 1 {
		t.Errorf("refused copies left entries behind: %v", entries)
	}
}

func TestWorkspaceOf(t *testing.T) {
	m, _ := newManager(t)
	ws := filepath.Join(m.Root(), "workspaces", "acme", "infra", "pr-1", "0123456789ab", Slug("envs/dev"))
	for _, p := range []string{ws, filepath.Join(ws, "envs", "dev"), filepath.Join(ws, "envs", "dev", "planbot.tfplan")} {
		if got, err := m.WorkspaceOf(p); err != nil || got != ws {
			t.Errorf("WorkspaceOf(%s) = %s, %v; want %s", p, got, err, ws)
		}
	}
	for _, p := range []string{filepath.Dir(ws), filepath.Join(m.Root(), "repos"), "/tmp", filepath.Join(m.Root(), "workspaces", "..", "x", "a", "b", "c", "d")} {
		if got, err := m.WorkspaceOf(p); err == nil {
			t.Errorf("WorkspaceOf(%s) = %s, want an error", p, got)
		}
	}
	if !strings.HasPrefix(ws, m.Root()) {
		t.Fatal(ws)
	}
}
