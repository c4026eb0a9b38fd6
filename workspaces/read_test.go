package workspaces

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

func TestReadFile(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	m, src, base, head := pr.m, pr.src, pr.base, pr.head
	tests := []struct {
		name     string
		sha      string
		path     string
		want     string
		wantCode string
	}{
		{name: "file at base", sha: base, path: "envs/dev/main.tf", want: "dev = 1\n"},
		{name: "same file at head", sha: head, path: "envs/dev/main.tf", want: "dev = 2\n"},
		{name: "file only at head", sha: head, path: "envs/stage/main.tf", want: "stage = 1\n"},
		{name: "file missing at base", sha: base, path: "envs/stage/main.tf", wantCode: planbot.ENOTFOUND},
		{name: "file removed at head", sha: head, path: "README", wantCode: planbot.ENOTFOUND},
		{name: "directory", sha: base, path: "envs", wantCode: planbot.ENOTFOUND},
		{name: "commit not fetched", sha: "0123456789012345678901234567890123456789", path: "README", wantCode: planbot.ENOTFOUND},
		{name: "invalid sha", sha: "main", path: "README", wantCode: planbot.EINVALID},
		{name: "absolute path", sha: base, path: "/README", wantCode: planbot.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.ReadFile(ctx, src.Repo, tt.sha, tt.path)
			if code := planbot.ErrorCode(err); tt.wantCode != "" || err != nil {
				if code != tt.wantCode {
					t.Fatalf("ReadFile error %v (code %q), want code %q", err, code, tt.wantCode)
				}
				return
			}
			if diff := cmp.Diff(string(got), tt.want); diff != "" {
				t.Errorf("content (-got +want):\n%s", diff)
			}
		})
	}
}

// TestPaths lists the files of a commit, in subdirectories too, and
// refuses a commit that was not fetched.
func TestPaths(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	for _, tt := range []struct {
		sha  string
		want []string
	}{
		{sha: pr.base, want: []string{"README", "envs/dev/main.tf", "envs/prod/main.tf"}},
		{sha: pr.head, want: []string{"docs/README.md", "envs/dev/main.tf", "envs/prod/main.tf", "envs/stage/main.tf"}},
	} {
		got, err := pr.m.Paths(ctx, pr.src.Repo, tt.sha)
		if err != nil {
			t.Fatalf("Paths(%s): %v", tt.sha[:7], err)
		}
		if diff := cmp.Diff(got, tt.want); diff != "" {
			t.Errorf("Paths(%s) (-got +want):\n%s", tt.sha[:7], diff)
		}
	}
	if _, err := pr.m.Paths(ctx, pr.src.Repo, "0123456789012345678901234567890123456789"); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("Paths of a commit not fetched: %v, want ENOTFOUND", err)
	}
	if _, err := pr.m.Paths(ctx, pr.src.Repo, "main"); planbot.ErrorCode(err) != planbot.EINVALID {
		t.Errorf("Paths of a branch name: %v, want EINVALID", err)
	}
}

// TestRefTips reads the cache's refs of a pull request's head and of base
// branches, as the last Sync left them.
func TestRefTips(t *testing.T) {
	ctx := context.Background()
	o, m, base, head := newOriginPR(t)
	repo := planbot.Repo{Owner: "acme", Name: "infra"}
	if _, err := m.PullHead(ctx, repo, 1); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Fatalf("PullHead before any Sync: %v, want ENOTFOUND", err)
	}
	if _, err := m.BranchTip(ctx, repo, "main"); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Fatalf("BranchTip before any Sync: %v, want ENOTFOUND", err)
	}
	// A branch fetched for its objects only leaves no ref behind.
	o.push(head, "refs/heads/feature")
	if err := m.Sync(ctx, Source{Repo: repo, CloneURL: o.url, Token: testToken, BaseRef: "feature", BaseSHA: head, ObjectsOnly: true}); err != nil {
		t.Fatalf("Sync of a new branch: %v", err)
	}
	if _, err := m.BranchTip(ctx, repo, "feature"); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Fatalf("BranchTip of a branch fetched for its objects: %v, want ENOTFOUND", err)
	}
	if err := m.Sync(ctx, o.source(1, base, head)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got, err := m.PullHead(ctx, repo, 1); err != nil || got != head {
		t.Fatalf("PullHead = %q, %v; want %s", got, err, head)
	}
	if got, err := m.BranchTip(ctx, repo, "main"); err != nil || got != base {
		t.Fatalf("BranchTip(main) = %q, %v; want %s", got, err, base)
	}
	if _, err := m.PullHead(ctx, repo, 2); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Fatalf("PullHead of an unfetched PR: %v, want ENOTFOUND", err)
	}
	if _, err := m.BranchTip(ctx, repo, "-main"); planbot.ErrorCode(err) != planbot.EINVALID {
		t.Fatalf("BranchTip of an invalid name: %v, want EINVALID", err)
	}
}

// TestSyncReuse checks that a Sync with Reuse does not fetch when the
// cache holds both commits, and fetches when it lacks one or its ref of the
// pull request names another commit.
func TestSyncReuse(t *testing.T) {
	ctx := context.Background()
	o, m, base, head := newOriginPR(t)
	src := o.source(1, base, head)
	src.Reuse = true
	if err := m.Sync(ctx, src); err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	requests := func() int {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.requests)
	}
	first := requests()
	if first == 0 {
		t.Fatal("the first Sync fetched nothing")
	}
	if err := m.Sync(ctx, src); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if got := requests(); got != first {
		t.Errorf("a Sync with both commits cached made %d git requests, want 0", got-first)
	}

	// Without Reuse, Sync fetches: the branch refs must be current.
	src.Reuse = false
	if err := m.Sync(ctx, src); err != nil {
		t.Fatalf("Sync without Reuse: %v", err)
	}
	if requests() == first {
		t.Error("a Sync without Reuse did not fetch")
	}

	// A new head is fetched with Reuse too.
	head2 := o.commit(map[string]string{"envs/dev/main.tf": "dev = 3\n"}, "more")
	o.push(head2, "refs/pull/1/head")
	src2 := o.source(1, base, head2)
	src2.Reuse = true
	if err := m.Sync(ctx, src2); err != nil {
		t.Fatalf("Sync of a new head: %v", err)
	}
	if got, err := m.PullHead(ctx, src2.Repo, 1); err != nil || got != head2 {
		t.Fatalf("PullHead after the new head = %q, %v; want %s", got, err, head2)
	}

	// Commits that came with a new branch's push (no ref of the pull
	// request yet) are used as they are; once a ref of the pull request
	// names another commit, it is fetched again, so that PullHead is
	// current.
	head3 := o.commit(map[string]string{"envs/dev/main.tf": "dev = 4\n"}, "a new branch")
	o.push(head3, "refs/heads/feature")
	if err := m.Sync(ctx, Source{Repo: src.Repo, CloneURL: o.url, Token: testToken, BaseRef: "feature", BaseSHA: head3, ObjectsOnly: true}); err != nil {
		t.Fatalf("Sync of the new branch: %v", err)
	}
	cache := filepath.Join(m.Root(), "repos/acme/infra.git")
	if refs := gitT(t, cache, "for-each-ref", "--format=%(refname)"); strings.Contains(refs, "feature") {
		t.Errorf("a Sync of objects only left a ref of the branch:\n%s", refs)
	}
	o.push(head3, "refs/pull/2/head")
	before := requests()
	src3 := o.source(2, base, head3)
	src3.Reuse = true
	if err := m.Sync(ctx, src3); err != nil {
		t.Fatal(err)
	}
	if got := requests(); got != before {
		t.Errorf("a Sync of a prefetched head made %d git requests, want 0", got-before)
	}
	o.push(head3, "refs/pull/1/head")
	src4 := o.source(1, base, head3) // #1 moved to head3, which the cache holds
	src4.Reuse = true
	if err := m.Sync(ctx, src4); err != nil {
		t.Fatal(err)
	}
	if got := requests(); got == before {
		t.Error("a Sync whose pull request ref names another commit did not fetch")
	}
	if got, err := m.PullHead(ctx, src4.Repo, 1); err != nil || got != head3 {
		t.Errorf("PullHead = %q, %v; want %s", got, err, head3)
	}
}
