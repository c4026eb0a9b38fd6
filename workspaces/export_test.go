package workspaces

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCheckoutWritesWhatGitWould: a commit with an executable file,
// symlinks (to a file, to a directory, dangling), nested and deep
// directories, an empty file, CRLF and binary content, names with spaces,
// unicode and a leading dash, a .gitignore, a .github directory and a
// submodule is written in process, with no git process, exactly as git's
// own checkout of it: the same entries, modes, contents and link targets.
func TestCheckoutWritesWhatGitWould(t *testing.T) {
	ctx := context.Background()
	o := newOrigin(t)
	base, _ := setupPR(o)
	files := map[string]string{
		"run.sh":                 "#!/bin/sh\necho hi\n",
		"empty":                  "",
		"crlf.tf":                "a = 1\r\nb = 2\r\n",
		"bin/blob":               "\x00\x01\xff\xfe binary\n",
		"dir with space/ünï.tf":  "x = 1\n",
		"-leading/dash.tf":       "y = 1\n",
		".gitignore":             "*.tfplan\n",
		".github/CODEOWNERS":     "* @acme/platform\n",
		"a/b/c/d/e/f/g/deep.txt": "deep\n",
	}
	for name, content := range files {
		p := filepath.Join(o.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"to-file": "run.sh", "to-dir": "a/b", "dangling": "../nowhere"} {
		if err := os.Symlink(target, filepath.Join(o.work, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitT(t, o.work, "add", "--all")
	gitT(t, o.work, "update-index", "--add", "--cacheinfo", "160000,"+base+",vendor/sub")
	gitT(t, o.work, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("1", 40)+",vendor/gone")
	gitT(t, o.work, "commit", "--quiet", "-m", "everything")
	head := strings.TrimSpace(gitT(t, o.work, "rev-parse", "HEAD"))
	o.push(head, "refs/pull/4/head")

	m, logs, src := o.synced(4, base, head)
	before := gitRuns(logs.String())
	dir, err := m.Checkout(ctx, src, head, "_tree")
	if err != nil {
		t.Fatal(err)
	}
	if runs := gitRuns(logs.String()) - before; runs > 1 {
		t.Errorf("Checkout ran %d git processes, want at most the object reader", runs)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf("written checkout has a .git entry (err %v)", err)
	}
	want := listTree(t, gitCheckout(t, o, head))
	if _, ok := want["vendor/sub"]; !ok {
		t.Fatalf("git's checkout has no submodule directory: %v", want)
	}
	if diff := cmp.Diff(listTree(t, dir), want); diff != "" {
		t.Errorf("Checkout differs from git's checkout (-Checkout +git):\n%s", diff)
	}
	// A submodule is no file, whether the cache holds its commit or not.
	if files, err := m.ReadFiles(ctx, src.Repo, head, "vendor/sub", "vendor/gone", "run.sh"); err != nil || len(files) != 1 {
		t.Errorf("ReadFiles of a submodule and a file = %v, %v; want only the file", files, err)
	}
	if again := checkoutT(t, m, src, head, "_tree"); again != dir {
		t.Errorf("second Checkout = %s, want %s", again, dir)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("Checkout left more than its directory behind: %v", entries)
	}
}

// checkoutT checks commit sha out for name, failing the test when it cannot.
func checkoutT(t *testing.T, m *Manager, src Source, sha, name string) string {
	t.Helper()
	dir, err := m.Checkout(context.Background(), src, sha, name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCheckoutWithAttributes: a commit with a .gitattributes file that
// converts line endings on checkout is a git worktree, so its files are
// exactly git's (CRLF here), which writing the blobs would not give; the
// object reader that found the file goes on serving.
func TestCheckoutWithAttributes(t *testing.T) {
	o := newOrigin(t)
	base, _ := setupPR(o)
	head := o.commit(map[string]string{
		"envs/dev/.gitattributes": "*.tf text eol=crlf\n",
		"envs/dev/main.tf":        "dev = 3\n",
	}, "crlf")
	o.push(head, "refs/pull/5/head")
	m, logs, src := o.synced(5, base, head)
	dir := checkoutT(t, m, src, head, "_tree")
	if got := readFile(t, filepath.Join(dir, "envs/dev/main.tf")); got != "dev = 3\r\n" {
		t.Errorf("main.tf = %q, want git's conversion to CRLF", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); err != nil {
		t.Errorf("a commit with .gitattributes is not a worktree: %v", err)
	}
	if diff := cmp.Diff(listTree(t, dir), listTree(t, gitCheckout(t, o, head))); diff != "" {
		t.Errorf("Checkout differs from git's checkout (-Checkout +git):\n%s", diff)
	}
	// Its base, without the file, is written.
	baseDir := checkoutT(t, m, src, base, "_tree")
	if _, err := os.Lstat(filepath.Join(baseDir, ".git")); !os.IsNotExist(err) {
		t.Errorf("the base without .gitattributes is a worktree (err %v)", err)
	}
	// Finding the file is no failure of the object reader: one served
	// both checkouts, and the reuse of the worktree.
	checkoutT(t, m, src, head, "_tree")
	if n := strings.Count(logs.String(), `msg="git object reader started"`); n != 1 {
		t.Errorf("%d object readers started, want 1", n)
	}
}

func TestExportable(t *testing.T) {
	for _, c := range []struct {
		name, mode string
		want       bool
	}{
		{"main.tf", "100644", true},
		{"run.sh", "100755", true},
		{"link", "120000", true},
		{"dir", "40000", true},
		{"sub", "160000", true},
		{".gitignore", "100644", true},
		{".github", "40000", true},
		{".gitmodules", "100644", true},
		{".gitmodules", "120000", false},
		{".gitattributes", "100644", false},
		{".GitAttributes", "100644", false},
		{".git", "40000", false},
		{".GIT", "100644", false},
		{".git. ", "40000", false},
		{"GIT~1", "40000", false},
		{"..", "40000", false},
		{".", "40000", false},
		{"", "100644", false},
		{"a/b", "100644", false},
		{`a\b`, "100644", false},
		{"odd", "100600", false},
	} {
		if got := exportable(c.name, c.mode); got != c.want {
			t.Errorf("exportable(%q, %s) = %v, want %v", c.name, c.mode, got, c.want)
		}
	}
}

func TestParseTree(t *testing.T) {
	oid := strings.Repeat("\x01", 20)
	good := "100644 a.tf\x00" + oid + "40000 dir\x00" + oid + "100664 old\x00" + oid
	got, err := parseTree([]byte(good), "x", 20)
	if err != nil {
		t.Fatal(err)
	}
	hexOID := strings.Repeat("01", 20)
	want := []treeEntry{{"x/a.tf", "100644", hexOID}, {"x/dir", "40000", hexOID}, {"x/old", "100644", hexOID}}
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(treeEntry{})); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	for _, bad := range []string{"100644 a.tf\x00" + oid[:19], "100644a.tf" + oid, "100644 a.tf"} {
		if _, err := parseTree([]byte(bad), "", 20); err == nil || errors.Is(err, errNeedsGit) {
			t.Errorf("parseTree(%q): %v, want a malformed-tree error", bad, err)
		}
	}
	for _, dup := range []string{"100644 a\x00" + oid + "100644 a\x00" + oid, "100644 .gitattributes\x00" + oid} {
		if _, err := parseTree([]byte(dup), "", 20); !errors.Is(err, errNeedsGit) {
			t.Errorf("parseTree(%q): %v, want errNeedsGit", dup, err)
		}
	}
}

// TestObjectReader: one git process serves the reads of a cache; it sees
// the objects of a later fetch, starts again after it died or a request's
// context ended, and exits when idle.
func TestObjectReader(t *testing.T) {
	ctx := context.Background()
	p := newSyncedPR(t)
	m, logs := p.m, p.logs
	starts := func() int { return strings.Count(logs.String(), `msg="git object reader started"`) }
	if _, err := m.ReadFiles(ctx, p.src.Repo, p.base, "README"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadFiles(ctx, p.src.Repo, p.head, "docs/README.md"); err != nil {
		t.Fatal(err)
	}
	if n := starts(); n != 1 {
		t.Errorf("%d object readers started for two reads, want 1", n)
	}

	// A commit fetched after the reader started is read by it.
	head2 := p.o.commit(map[string]string{"envs/dev/main.tf": "dev = 4\n"}, "more")
	p.o.push(head2, "refs/pull/1/head")
	src2 := p.o.source(1, p.base, head2)
	if err := m.Sync(ctx, src2); err != nil {
		t.Fatal(err)
	}
	if got, err := m.ReadFile(ctx, p.src.Repo, head2, "envs/dev/main.tf"); err != nil || string(got) != "dev = 4\n" {
		t.Errorf("ReadFile of a later fetch = %q, %v", got, err)
	}
	if n := starts(); n != 1 {
		t.Errorf("%d object readers started, want still 1", n)
	}

	// A reader that died is started again.
	cache := m.cacheDir(p.src.Repo)
	m.mu.Lock()
	r := m.readers[cache]
	m.mu.Unlock()
	r.cmd.Process.Kill()
	if dir, err := m.Checkout(ctx, src2, head2, "_tree"); err != nil || readFile(t, filepath.Join(dir, "envs/dev/main.tf")) != "dev = 4\n" {
		t.Fatalf("Checkout after the reader died: %v", err)
	}
	if n := starts(); n != 2 {
		t.Errorf("%d object readers started, want 2", n)
	}

	// A request whose context ended fails, and the next one is served.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.ReadFiles(cancelled, p.src.Repo, head2, "envs/prod/main.tf"); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFiles with an ended context: %v, want context.Canceled", err)
	}
	if got, err := m.ReadFile(ctx, p.src.Repo, head2, "envs/prod/main.tf"); err != nil || string(got) != "prod = 1\n" {
		t.Errorf("ReadFile after an ended context = %q, %v", got, err)
	}

	// Close ends the process; a read starts a new one.
	m.mu.Lock()
	r = m.readers[cache]
	m.mu.Unlock()
	m.Close()
	if r.cmd.ProcessState == nil {
		t.Error("the reader's git process still runs after Close")
	}
	if got, err := m.ReadFile(ctx, p.src.Repo, head2, "envs/stage/main.tf"); err != nil || string(got) != "stage = 1\n" {
		t.Errorf("ReadFile after Close = %q, %v", got, err)
	}

	// An idle reader exits on its own.
	m.mu.Lock()
	r = m.readers[cache]
	m.mu.Unlock()
	r.idle.Reset(time.Millisecond)
	deadline := time.Now().Add(30 * time.Second)
	for !r.isClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !r.isClosed() || r.cmd.ProcessState == nil {
		t.Error("an idle reader did not exit")
	}
}

// TestObjectReaderWhereGitCannotRun: a reader in a directory that is no
// repository exits at once; the read fails after a few tries instead of
// starting readers forever.
func TestObjectReaderWhereGitCannotRun(t *testing.T) {
	m, logs := newManager(t)
	err := m.readObjects(context.Background(), t.TempDir(), []string{"HEAD"}, func(int, object, io.Reader) error { return nil })
	if err == nil {
		t.Fatal("reading objects where there is no repository: no error")
	}
	if n := strings.Count(logs.String(), `msg="git object reader started"`); n < 1 || n > 3 {
		t.Errorf("%d readers started, want 1 to 3", n)
	}
}
