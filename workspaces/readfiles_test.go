package workspaces

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
	"github.com/planbot/planbot/logtest"
)

// gitRuns counts the git processes in a manager's debug log: the git
// commands it ran and the object readers it started.
func gitRuns(log string) int {
	return strings.Count(log, "msg=git ") + strings.Count(log, `msg="git object reader started"`)
}

// TestReadFiles reads files, a directory and missing paths of two commits
// with at most one git process for both (the cache's object reader), and
// then again with none: a commit's files are remembered, the missing ones
// too.
func TestReadFiles(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	m, logs, src, base, head := pr.m, pr.logs, pr.src, pr.base, pr.head
	paths := []string{"envs/dev/main.tf", "README", "envs", "envs/stage/main.tf", "no such file", "docs/README.md"}
	want := map[string]map[string][]byte{
		base: {"envs/dev/main.tf": []byte("dev = 1\n"), "README": []byte("hello planbot, this is the readme\n")},
		head: {"envs/dev/main.tf": []byte("dev = 2\n"), "envs/stage/main.tf": []byte("stage = 1\n"), "docs/README.md": []byte("hello planbot, this is the readme\n")},
	}
	for round := 1; round <= 2; round++ {
		for _, sha := range []string{base, head} {
			before := gitRuns(logs.String())
			got, err := m.ReadFiles(ctx, src.Repo, sha, paths...)
			if err != nil {
				t.Fatalf("round %d: ReadFiles: %v", round, err)
			}
			if diff := cmp.Diff(got, want[sha]); diff != "" {
				t.Errorf("round %d at %s (-got +want):\n%s", round, sha[:7], diff)
			}
			runs := gitRuns(logs.String()) - before
			if wantRuns := map[int]int{1: 1, 2: 0}[round]; runs > wantRuns || !strings.Contains(logs.String(), "git object reader started") {
				t.Errorf("round %d at %s: %d git processes, want at most %d", round, sha[:7], runs, wantRuns)
			}
		}
	}
	// What ReadFiles hands out is the caller's to change.
	got, _ := m.ReadFiles(ctx, src.Repo, base, "README")
	got["README"][0] = 'X'
	if again, _ := m.ReadFile(ctx, src.Repo, base, "README"); string(again) != "hello planbot, this is the readme\n" {
		t.Errorf("a change to a returned file reached the memory: %q", again)
	}

	for _, bad := range []string{"", "/README", "a\nb", "a\x00b"} {
		if _, err := m.ReadFiles(ctx, src.Repo, base, "README", bad); planbot.ErrorCode(err) != planbot.EINVALID {
			t.Errorf("ReadFiles with path %q: %v, want EINVALID", bad, err)
		}
	}
	if _, err := m.ReadFiles(ctx, src.Repo, strings.Repeat("ab", 20), "README"); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("ReadFiles of a commit never fetched: %v, want ENOTFOUND", err)
	}
}

// TestPullHeadWithoutGit: after a fetch PullHead reads the loose ref and
// runs no git process; a packed ref is still found, through git, and a
// deleted one is not.
func TestPullHeadWithoutGit(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	m, logs, src, head := pr.m, pr.logs, pr.src, pr.head
	before := gitRuns(logs.String())
	if got, err := m.PullHead(ctx, src.Repo, 1); err != nil || got != head {
		t.Fatalf("PullHead = %q, %v; want %s", got, err, head)
	}
	if runs := gitRuns(logs.String()) - before; runs != 0 {
		t.Errorf("PullHead of a loose ref ran %d git processes, want 0", runs)
	}
	cache := filepath.Join(m.Root(), "repos/acme/infra.git")
	gitT(t, cache, "pack-refs", "--all")
	if _, ok := looseRef(cache, "refs/remotes/pull/1/head"); ok {
		t.Fatal("the ref is still loose after git pack-refs")
	}
	if got, err := m.PullHead(ctx, src.Repo, 1); err != nil || got != head {
		t.Errorf("PullHead of a packed ref = %q, %v; want %s", got, err, head)
	}
	if err := m.Cleanup(ctx, src.Repo, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PullHead(ctx, src.Repo, 1); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("PullHead after Cleanup: %v, want ENOTFOUND", err)
	}
}

// TestHasCommitLoose: a commit the fetch left loose is found without a git
// process, a packed one through git, and a missing one is not found.
func TestHasCommitLoose(t *testing.T) {
	ctx := context.Background()
	pr := newSyncedPR(t)
	log, logs := logtest.Capture(t)
	m, err := New(pr.m.Root(), log) // nothing remembered yet
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(m.Root(), "repos/acme/infra.git")
	if !m.hasCommit(ctx, cache, pr.head) {
		t.Fatal("hasCommit of the fetched head: false")
	}
	if runs := gitRuns(logs.String()); runs != 0 {
		t.Errorf("hasCommit of a loose commit ran %d git processes, want 0", runs)
	}
	if m.hasCommit(ctx, cache, strings.Repeat("ab", 20)) {
		t.Error("hasCommit of a commit never fetched: true")
	}
	gitT(t, cache, "repack", "-a", "-d", "-q")
	gitT(t, cache, "prune-packed")
	m, err = New(pr.m.Root(), log)
	if err != nil {
		t.Fatal(err)
	}
	if !m.hasCommit(ctx, cache, pr.base) {
		t.Error("hasCommit of a packed commit: false")
	}
}
