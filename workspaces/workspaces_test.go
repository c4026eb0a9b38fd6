package workspaces

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

func TestSyncCheckout(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	m, logs, o, src, base, head := pr.m, pr.logs, pr.o, pr.src, pr.base, pr.head
	headDir := pr.checkout(t, head, "envs/dev")
	baseDir := pr.checkout(t, base, "envs/dev")

	wantHead := filepath.Join(m.Root(), "workspaces", "acme", "infra", "pr-1", head[:12], Slug("envs/dev"))
	wantBase := filepath.Join(m.Root(), "workspaces", "acme", "infra", "pr-1", "base-"+base[:12], Slug("envs/dev"))
	if diff := cmp.Diff([]string{headDir, baseDir}, []string{wantHead, wantBase}); diff != "" {
		t.Errorf("workspace dirs (-got +want):\n%s", diff)
	}

	got := map[string]string{
		"head dev":    readFile(t, filepath.Join(headDir, "envs/dev/main.tf")),
		"head stage":  readFile(t, filepath.Join(headDir, "envs/stage/main.tf")),
		"base dev":    readFile(t, filepath.Join(baseDir, "envs/dev/main.tf")),
		"base readme": readFile(t, filepath.Join(baseDir, "README")),
	}
	want := map[string]string{
		"head dev":    "dev = 2\n",
		"head stage":  "stage = 1\n",
		"base dev":    "dev = 1\n",
		"base readme": "hello planbot, this is the readme\n",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("checked out files (-got +want):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(baseDir, "envs/stage")); !os.IsNotExist(err) {
		t.Errorf("base workspace has envs/stage (err %v), want it absent", err)
	}
	if _, err := os.Stat(filepath.Join(headDir, "README")); !os.IsNotExist(err) {
		t.Errorf("head workspace has README (err %v), want it absent", err)
	}

	files, err := m.ChangedFiles(ctx, src.Repo, base, head)
	if err != nil {
		t.Fatalf("ChangedFiles: %v", err)
	}
	wantFiles := []planbot.ChangedFile{
		{Path: "docs/README.md", PreviousPath: "README", Status: "renamed"},
		{Path: "envs/dev/main.tf", Status: "modified"},
		{Path: "envs/stage/main.tf", Status: "added"},
	}
	if diff := cmp.Diff(files, wantFiles); diff != "" {
		t.Errorf("ChangedFiles (-got +want):\n%s", diff)
	}

	// The token must be nowhere on disk, in a URL or in the logs.
	assertNoToken(t, m.Root())
	if o.tokenInRq {
		t.Error("the token appeared in a request URL")
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("the token appeared in the logs")
	}
	if cfg := readFile(t, filepath.Join(m.Root(), "repos/acme/infra.git/config")); strings.Contains(cfg, "extraHeader") {
		t.Errorf("cache config holds an auth header:\n%s", cfg)
	}
}

func TestSyncFetchesDelta(t *testing.T) {
	ctx := context.Background()
	o, m, base, head1 := newOriginPR(t)

	if err := m.Sync(ctx, o.source(1, base, head1)); err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	dir1, err := m.Checkout(ctx, o.source(1, base, head1), head1, "envs/dev")
	if err != nil {
		t.Fatalf("Checkout head1: %v", err)
	}
	cache := filepath.Join(m.Root(), "repos/acme/infra.git")
	before := objectCount(t, cache)

	head2 := o.commit(map[string]string{"envs/dev/main.tf": "dev = 3\n"}, "more")
	o.push(head2, "refs/pull/1/head")
	src2 := o.source(1, base, head2)
	if err := m.Sync(ctx, src2); err != nil {
		t.Fatalf("second Sync: %v", err)
	}

	// Only the objects that head2 adds were transferred.
	delta := len(strings.Split(strings.TrimSpace(gitT(t, o.bare, "rev-list", "--objects", head2, "^"+head1)), "\n"))
	if got := objectCount(t, cache) - before; got != delta {
		t.Errorf("second Sync added %d objects, want %d (the delta)", got, delta)
	}

	dir2, err := m.Checkout(ctx, src2, head2, "envs/dev")
	if err != nil {
		t.Fatalf("Checkout head2: %v", err)
	}
	if dir1 == dir2 {
		t.Fatalf("head1 and head2 share the workspace %s", dir1)
	}
	got := []string{readFile(t, filepath.Join(dir1, "envs/dev/main.tf")), readFile(t, filepath.Join(dir2, "envs/dev/main.tf"))}
	if diff := cmp.Diff(got, []string{"dev = 2\n", "dev = 3\n"}); diff != "" {
		t.Errorf("envs/dev/main.tf at head1, head2 (-got +want):\n%s", diff)
	}

	// Prune drops the old head's workspace and keeps the current ones.
	baseDir, err := m.Checkout(ctx, src2, base, "envs/dev")
	if err != nil {
		t.Fatalf("Checkout base: %v", err)
	}
	if err := m.Prune(ctx, src2.Repo, 1, head2, base); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	assertCheckouts(t, m, src2.Repo, []string{dir2, baseDir})
	if _, err := os.Stat(filepath.Dir(dir1)); !os.IsNotExist(err) {
		t.Errorf("old head directory still there (err %v)", err)
	}
	assertNoToken(t, m.Root())
}

// objectCount returns the number of objects in the repository at dir,
// loose and packed.
func objectCount(t *testing.T, dir string) int {
	t.Helper()
	out := gitT(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
	return len(strings.Fields(out))
}

func TestSyncRefused(t *testing.T) {
	ctx := context.Background()
	o := newOrigin(t)
	base, head := setupPR(o)

	tests := []struct {
		name  string
		token string
	}{
		{name: "wrong token", token: "ghs_WrongTokenP9qR8sT7uV6wX5yZ4aB3cD2eF1g"},
		{name: "no token", token: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, logs := newManager(t)
			src := o.source(1, base, head)
			src.Token = tt.token
			err := m.Sync(ctx, src)
			if err == nil {
				t.Fatal("Sync succeeded with a bad token")
			}
			t.Logf("error: %v", err)
			if got := planbot.ErrorCode(err); got != planbot.EUNAUTHORIZED {
				t.Errorf("ErrorCode = %q, want %q", got, planbot.EUNAUTHORIZED)
			}
			if !strings.Contains(planbot.ErrorMessage(err), "acme/infra") {
				t.Errorf("ErrorMessage %q does not name the repository", planbot.ErrorMessage(err))
			}
			for _, secret := range []string{tt.token, testToken} {
				if secret == "" {
					continue
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text contains the token: %v", err)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs contain the token")
				}
			}
			var gerr *GitError
			if !errors.As(err, &gerr) || gerr.Stderr == "" {
				t.Errorf("error %v carries no git stderr", err)
			}
		})
	}
}

func TestSyncHeadMissing(t *testing.T) {
	ctx := context.Background()
	o, m, base, _ := newOriginPR(t)
	gone := strings.Repeat("ab", 20)

	err := m.Sync(ctx, o.source(1, base, gone))
	if err == nil {
		t.Fatal("Sync succeeded although the head commit does not exist")
	}
	if got := planbot.ErrorCode(err); got != planbot.ECONFLICT {
		t.Errorf("ErrorCode = %q, want %q (err %v)", got, planbot.ECONFLICT, err)
	}
	if !strings.Contains(planbot.ErrorMessage(err), gone) {
		t.Errorf("ErrorMessage %q does not name the missing SHA", planbot.ErrorMessage(err))
	}
	o.mu.Lock()
	fetches := o.infoRefs
	o.mu.Unlock()
	if fetches != 2 {
		t.Errorf("fetched %d times, want 2 (one retry)", fetches)
	}
}

func TestSyncInvalidSource(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t)
	good := Source{
		Repo:     planbot.Repo{Owner: "acme", Name: "infra"},
		CloneURL: "https://github.com/acme/infra.git",
		PR:       1,
		BaseRef:  "main",
	}
	tests := []struct {
		name   string
		change func(*Source)
		hidden string // text that must not appear in the error
	}{
		{name: "credentials in URL", change: func(s *Source) { s.CloneURL = "https://x-access-token:sekrit@github.com/acme/infra.git" }, hidden: "sekrit"},
		{name: "ssh URL", change: func(s *Source) { s.CloneURL = "ssh://git@github.com/acme/infra.git" }},
		{name: "ext URL", change: func(s *Source) { s.CloneURL = "ext::sh -c touch% /tmp/pwned" }},
		{name: "branch looks like option", change: func(s *Source) { s.BaseRef = "--upload-pack=touch" }},
		{name: "branch with colon", change: func(s *Source) { s.BaseRef = "main:refs/heads/x" }},
		{name: "branch with dotdot", change: func(s *Source) { s.BaseRef = "a/../b" }},
		{name: "short sha", change: func(s *Source) { s.HeadSHA = "abc123" }},
		{name: "sha option", change: func(s *Source) { s.HeadSHA = "--all" }},
		{name: "owner traversal", change: func(s *Source) { s.Repo.Owner = ".." }},
		{name: "name with slash", change: func(s *Source) { s.Repo.Name = "a/b" }},
		{name: "nothing to fetch", change: func(s *Source) { s.PR, s.BaseRef = 0, "" }},
		{name: "negative PR", change: func(s *Source) { s.PR = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := good
			tt.change(&src)
			err := m.Sync(ctx, src)
			if got := planbot.ErrorCode(err); got != planbot.EINVALID {
				t.Fatalf("Sync error code = %q, want %q (err %v)", got, planbot.EINVALID, err)
			}
			if tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
				t.Errorf("error %q reveals %q", err, tt.hidden)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "repos", "acme")); !os.IsNotExist(err) {
		t.Errorf("an invalid source created a cache (err %v)", err)
	}
}

// TestCheckoutReuse: a second Checkout of the same commit and name reuses
// the directory with what runs added to it; one with a changed file of the
// commit is replaced whole, for written commits and worktrees alike.
func TestCheckoutReuse(t *testing.T) {
	forEachKind(t, func(t *testing.T, worktrees bool) {
		ctx := context.Background()
		pr := newSyncedPR(t, worktrees)
		m, src, head := pr.m, pr.src, pr.head
		dir := pr.checkout(t, head, "envs/dev")
		if _, err := os.Lstat(filepath.Join(dir, ".git")); (err == nil) != worktrees {
			t.Fatalf("Checkout made a worktree: %v, want %v", err == nil, worktrees)
		}
		marker := filepath.Join(dir, "envs/dev/main.tf") // never written again when reused
		info1, err := os.Stat(marker)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "envs/dev/planbot.tfplan"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}

		again := pr.checkout(t, head, "envs/dev")
		info2, err := os.Stat(marker)
		if err != nil {
			t.Fatal(err)
		}
		if again != dir || !os.SameFile(info1, info2) {
			t.Errorf("second Checkout made a new workspace %s, want %s reused", again, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "envs/dev/planbot.tfplan")); err != nil {
			t.Errorf("a reused workspace lost its untracked file: %v", err)
		}

		// A dirty workspace is replaced by a clean one.
		for name, change := range map[string]func() error{
			"changed file":     func() error { return os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte("tampered\n"), 0o644) },
			"same-size change": func() error { return os.WriteFile(filepath.Join(dir, "envs/dev/main.tf"), []byte("dev = 7\n"), 0o644) },
			"removed file":     func() error { return os.Remove(filepath.Join(dir, "envs/prod/main.tf")) },
			"made executable":  func() error { return os.Chmod(filepath.Join(dir, "envs/dev/main.tf"), 0o755) },
			"file for a dir": func() error {
				os.RemoveAll(filepath.Join(dir, "envs/stage"))
				return os.WriteFile(filepath.Join(dir, "envs/stage"), nil, 0o644)
			},
		} {
			if err := os.WriteFile(filepath.Join(dir, "stray.tfplan"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := change(); err != nil {
				t.Fatal(err)
			}
			again, err = m.Checkout(ctx, src, head, "envs/dev")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if again != dir {
				t.Errorf("%s: Checkout = %s, want %s", name, again, dir)
			}
			if got := readFile(t, filepath.Join(dir, "envs/dev/main.tf")); got != "dev = 2\n" {
				t.Errorf("%s: main.tf after re-checkout = %q, want %q", name, got, "dev = 2\n")
			}
			if info, err := os.Stat(filepath.Join(dir, "envs/dev/main.tf")); err != nil || info.Mode().Perm()&0o100 != 0 {
				t.Errorf("%s: main.tf after re-checkout: %v, %v", name, info, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "stray.tfplan")); !os.IsNotExist(err) {
				t.Errorf("%s: stray file survived re-checkout (err %v)", name, err)
			}
		}
		assertCheckouts(t, m, src.Repo, []string{dir})

		// A commit that was never fetched is reported as not found.
		_, err = m.Checkout(ctx, src, strings.Repeat("cd", 20), "envs/dev")
		if got := planbot.ErrorCode(err); got != planbot.ENOTFOUND {
			t.Errorf("Checkout of unknown commit: code %q, want %q (err %v)", got, planbot.ENOTFOUND, err)
		}
	})
}

func TestCleanup(t *testing.T) {
	forEachKind(t, testCleanup)
}

func testCleanup(t *testing.T, worktrees bool) {
	ctx := context.Background()
	o, m, base, head := newTwoPRs(t, worktrees)
	src1, src2 := o.source(1, base, head), o.source(2, base, head)
	for _, src := range []Source{src1, src2} {
		if err := m.Sync(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	var keep []string
	for _, name := range []string{"envs/dev", "envs/prod"} {
		for _, sha := range []string{head, base} {
			if _, err := m.Checkout(ctx, src1, sha, name); err != nil {
				t.Fatal(err)
			}
			dir, err := m.Checkout(ctx, src2, sha, name)
			if err != nil {
				t.Fatal(err)
			}
			keep = append(keep, dir)
		}
	}

	if err := m.Cleanup(ctx, src1.Repo, 1); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	prDir := filepath.Join(m.Root(), "workspaces/acme/infra/pr-1")
	if _, err := os.Stat(prDir); !os.IsNotExist(err) {
		t.Errorf("%s still exists (err %v)", prDir, err)
	}
	cache := filepath.Join(m.Root(), "repos/acme/infra.git")
	assertCheckouts(t, m, src1.Repo, keep)
	refs := gitT(t, cache, "for-each-ref", "--format=%(refname)")
	if diff := cmp.Diff(strings.Fields(refs), []string{"refs/remotes/origin/main", "refs/remotes/pull/2/head"}); diff != "" {
		t.Errorf("refs after Cleanup (-got +want):\n%s", diff)
	}

	// Cleaning up again, or a PR that never had workspaces, is fine.
	if err := m.Cleanup(ctx, src1.Repo, 1); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
	if err := m.Cleanup(ctx, planbot.Repo{Owner: "acme", Name: "other"}, 7); err != nil {
		t.Errorf("Cleanup of unknown repo: %v", err)
	}
}

func TestParallelCheckouts(t *testing.T) {
	forEachKind(t, testParallelCheckouts)
}

func testParallelCheckouts(t *testing.T, worktrees bool) {
	ctx := context.Background()
	o, m, base, head := newTwoPRs(t, worktrees)

	projects := []string{"envs/dev", "envs/prod", "envs/stage", "."}
	type result struct {
		pr, project, sha, dir string
		err                   error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []result
	)
	for _, pr := range []int{1, 2} {
		src := o.source(pr, base, head)
		wg.Go(func() {
			if err := m.Sync(ctx, src); err != nil {
				mu.Lock()
				results = append(results, result{pr: fmt.Sprint(pr), err: err})
				mu.Unlock()
				return
			}
			var inner sync.WaitGroup
			for _, p := range projects {
				for _, sha := range []string{head, base} {
					inner.Go(func() {
						dir, err := m.Checkout(ctx, src, sha, p)
						mu.Lock()
						results = append(results, result{pr: fmt.Sprint(pr), project: p, sha: sha, dir: dir, err: err})
						mu.Unlock()
					})
				}
			}
			inner.Wait()
		})
	}
	wg.Wait()

	if len(results) != 2*len(projects)*2 {
		t.Fatalf("got %d results, want %d: %v", len(results), 2*len(projects)*2, results)
	}
	dirs := make(map[string]bool)
	for _, r := range results {
		if r.err != nil {
			t.Errorf("pr %s project %s: %v", r.pr, r.project, r.err)
			continue
		}
		if dirs[r.dir] {
			t.Errorf("directory %s handed out twice", r.dir)
		}
		dirs[r.dir] = true
		want := "dev = 1\n"
		if r.sha == head {
			want = "dev = 2\n"
		}
		if got := readFile(t, filepath.Join(r.dir, "envs/dev/main.tf")); got != want {
			t.Errorf("pr %s project %s at %s: envs/dev/main.tf = %q, want %q", r.pr, r.project, r.sha[:7], got, want)
		}
	}
	assertCheckouts(t, m, planbot.Repo{Owner: "acme", Name: "infra"}, slices.Collect(maps.Keys(dirs)))
	out, err := exec.Command("git", "-C", filepath.Join(m.Root(), "repos/acme/infra.git"), "fsck", "--no-progress").CombinedOutput()
	if err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

func TestCommandKeepsTokenInEnvironment(t *testing.T) {
	t.Setenv("PLANBOT_UNRELATED_SECRET", "do-not-pass")
	m, _ := newManager(t)
	src := Source{
		Repo:     planbot.Repo{Owner: "acme", Name: "infra"},
		CloneURL: "https://github.com/acme/infra.git",
		Token:    testToken,
		PR:       12,
		BaseRef:  "main",
	}
	cmd := m.command(context.Background(), m.Root(), src.Token, fetchArgs(src)...)
	for _, a := range cmd.Args {
		if strings.Contains(a, testToken) {
			t.Errorf("argument %q contains the token", a)
		}
	}
	wantArgs := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--no-show-forced-updates", "--",
		"https://github.com/acme/infra.git",
		"+refs/heads/main:refs/remotes/origin/main",
		"+refs/pull/12/head:refs/remotes/pull/12/head"}
	if diff := cmp.Diff(cmd.Args[len(cmd.Args)-len(wantArgs):], wantArgs); diff != "" {
		t.Errorf("fetch arguments (-got +want):\n%s", diff)
	}
	if !slices.Contains(cmd.Args, "credential.helper=") {
		t.Errorf("credential helpers not disabled: %v", cmd.Args)
	}
	env := make(map[string]string)
	for _, kv := range cmd.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	wantEnv := map[string]string{
		"GIT_CONFIG_COUNT":    "1",
		"GIT_CONFIG_KEY_0":    "http.extraHeader",
		"GIT_CONFIG_VALUE_0":  "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hzX1Rlc3RUb2tlblpxOHdYM3ZLOXBMbTJSdDdZYjROYzZIZDFKZjVHczA=",
		"GIT_TERMINAL_PROMPT": "0",
		"GIT_ASKPASS":         "",
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_CONFIG_GLOBAL":   "/dev/null",
	}
	for k, want := range wantEnv {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("env %s = %q (set %v), want %q", k, got, ok, want)
		}
	}
	if _, ok := env["PLANBOT_UNRELATED_SECRET"]; ok {
		t.Error("the host environment leaked into git's")
	}

	anon := m.command(context.Background(), m.Root(), "", "status")
	for _, kv := range anon.Env {
		if strings.HasPrefix(kv, "GIT_CONFIG_COUNT=") {
			t.Errorf("anonymous command sets %s", kv)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, token, want string
	}{
		{name: "clear", in: "fatal: bad token ghs_abc here", token: "ghs_abc", want: "fatal: bad token [REDACTED] here"},
		{name: "header", in: "> Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hzX2FiYw==", token: "ghs_abc", want: "> Authorization: Basic [REDACTED]"},
		{name: "no token", in: "fatal: nope", token: "", want: "fatal: nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(redact(tt.in, tt.token), tt.want); diff != "" {
				t.Errorf("redact (-got +want):\n%s", diff)
			}
		})
	}
}

// TestRemove removes one worktree and leaves the others of the same pull
// request, as a pre-render must leave a drift pass's worktrees.
func TestRemove(t *testing.T) {
	forEachKind(t, testRemove)
}

func testRemove(t *testing.T, worktrees bool) {
	ctx := context.Background()
	pr := newSyncedPR(t, worktrees)
	m, src, base, head := pr.m, pr.src, pr.base, pr.head
	mine := pr.checkout(t, base, "_prerender")
	theirs := pr.checkout(t, head, "envs/dev")
	if err := m.Remove(ctx, src.Repo, mine); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("%s still exists (err %v)", mine, err)
	}
	if _, err := os.Stat(filepath.Join(theirs, "envs/dev/main.tf")); err != nil {
		t.Errorf("the other worktree was removed too: %v", err)
	}
	assertCheckouts(t, m, src.Repo, []string{theirs})
	if err := m.Remove(ctx, src.Repo, t.TempDir()); err == nil {
		t.Error("Remove of a directory outside the workspaces: no error")
	}
}
