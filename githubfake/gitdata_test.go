package githubfake_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/githubfake"
)

// wantStatus checks that err is a GitHub error of status whose message
// (or first validation error's message) contains msg.
func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) {
		t.Fatalf("error = %v, want a %d", err, status)
	}
	got := ge.Message
	if len(ge.Errors) > 0 {
		got += " " + ge.Errors[0].Message
	}
	if ge.Response.StatusCode != status || !strings.Contains(got, msg) {
		t.Fatalf("error = %d %q, want %d with %q", ge.Response.StatusCode, got, status, msg)
	}
}

// TestGitData commits a change as the App through blobs, trees, commits
// and refs, as planbot releases do, and checks GitHub's refusals.
func TestGitData(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	main := s.Branch(repoName, "main")

	blob, resp, err := c.Git.CreateBlob(ctx, "acme", "infra", &github.Blob{Content: github.String("aGVsbG8gYWdhaW4K"), Encoding: github.String("base64")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("CreateBlob: %v", err)
	}
	_, _, err = c.Git.CreateBlob(ctx, "acme", "infra", &github.Blob{Content: github.String("x"), Encoding: github.String("utf-16")})
	wantStatus(t, err, 422, "not a valid encoding")

	tree, resp, err := c.Git.CreateTree(ctx, "acme", "infra", main, []*github.TreeEntry{
		{Path: github.String("README.md"), Mode: github.String("100644"), Type: github.String("blob"), SHA: blob.SHA},
		{Path: github.String("docs/new.md"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("new\n")},
		{Path: github.String("envs/prod/main.tf"), Mode: github.String("100644"), Type: github.String("blob")}, // SHA nil: delete
	})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("CreateTree: %v", err)
	}
	var paths []string
	for _, e := range tree.Entries {
		paths = append(paths, e.GetPath())
	}
	if got := strings.Join(paths, ","); got != "README.md,docs/new.md" {
		t.Errorf("tree entries = %s, want README.md,docs/new.md (envs/prod/main.tf deleted)", got)
	}
	_, _, err = c.Git.CreateTree(ctx, "acme", "infra", strings.Repeat("1", 40), []*github.TreeEntry{})
	wantStatus(t, err, 422, "Invalid tree info")

	commit, resp, err := c.Git.CreateCommit(ctx, "acme", "infra", &github.Commit{Message: github.String("bump"), Tree: tree, Parents: []*github.Commit{{SHA: github.String(main)}}}, nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("CreateCommit: %v", err)
	}
	if got := commit.GetCommitter().GetName(); got != s.BotLogin() {
		t.Errorf("committer = %q, want %q", got, s.BotLogin())
	}
	_, _, err = c.Git.CreateCommit(ctx, "acme", "infra", &github.Commit{Message: github.String("x"), Tree: &github.Tree{SHA: github.String(strings.Repeat("2", 40))}}, nil)
	wantStatus(t, err, 422, "Tree SHA does not exist")

	_, _, err = c.Git.GetRef(ctx, "acme", "infra", "heads/release")
	wantStatus(t, err, 404, "Not Found")
	if _, resp, err = c.Git.CreateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/release"), Object: &github.GitObject{SHA: commit.SHA}}); err != nil || resp.StatusCode != 201 {
		t.Fatalf("CreateRef: %v", err)
	}
	_, _, err = c.Git.CreateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/release"), Object: &github.GitObject{SHA: commit.SHA}})
	wantStatus(t, err, 422, "Reference already exists")
	if got, ok := s.FileAt(repoName, "release", "docs/new.md"); !ok || got != "new\n" {
		t.Errorf("docs/new.md on release = %q, %v", got, ok)
	}
	if _, ok := s.FileAt(repoName, "release", "envs/prod/main.tf"); ok {
		t.Errorf("envs/prod/main.tf still exists on release")
	}

	// main is not a descendant of the release commit: no fast forward.
	_, _, err = c.Git.UpdateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/release"), Object: &github.GitObject{SHA: github.String(main)}}, false)
	wantStatus(t, err, 422, "Update is not a fast forward")
	if _, _, err = c.Git.UpdateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/release"), Object: &github.GitObject{SHA: github.String(main)}}, true); err != nil {
		t.Fatalf("forced UpdateRef: %v", err)
	}
	if got := s.Branch(repoName, "release"); got != main {
		t.Errorf("release = %s after a forced update, want %s", got, main)
	}
	_, _, err = c.Git.UpdateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/nope"), Object: &github.GitObject{SHA: github.String(main)}}, true)
	wantStatus(t, err, 422, "Reference does not exist")

	var pushes []map[string]any
	for _, e := range s.Events() {
		if e.Name == "push" {
			var m map[string]any
			_ = json.Unmarshal(e.Payload, &m)
			pushes = append(pushes, m)
		}
	}
	if len(pushes) != 2 || pushes[0]["created"] != true || pushes[1]["forced"] != true || pushes[1]["after"] != main {
		t.Errorf("push events = %v, want a created one and a forced one", pushes)
	}
	if got := pushes[0]["sender"].(map[string]any)["login"]; got != s.BotLogin() {
		t.Errorf("push sender = %v, want the bot", got)
	}
}

// TestAppPullRequests opens, lists, moves and closes a pull request as
// the App, and checks the webhooks GitHub would send.
func TestAppPullRequests(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	s.Commit(repoName, "bump", map[string]string{"README.md": "bump\n"}, nil, "bump")
	s.Commit(repoName, "empty", nil, nil, "nothing")

	_, _, err := c.PullRequests.Create(ctx, "acme", "infra", &github.NewPullRequest{Title: github.String("x"), Head: github.String("nope"), Base: github.String("main")})
	wantStatus(t, err, 422, "Validation Failed")
	pr, resp, err := c.PullRequests.Create(ctx, "acme", "infra", &github.NewPullRequest{Title: github.String("Bump"), Head: github.String("bump"), Base: github.String("main"), Body: github.String("| a | b |")})
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("Create: %v", err)
	}
	if pr.GetUser().GetLogin() != s.BotLogin() || pr.GetBody() != "| a | b |" {
		t.Errorf("PR by %q with body %q", pr.GetUser().GetLogin(), pr.GetBody())
	}
	_, _, err = c.PullRequests.Create(ctx, "acme", "infra", &github.NewPullRequest{Title: github.String("Again"), Head: github.String("bump"), Base: github.String("main")})
	wantStatus(t, err, 422, "A pull request already exists for acme:bump.")

	list, _, err := c.PullRequests.List(ctx, "acme", "infra", &github.PullRequestListOptions{Head: "acme:bump"})
	if err != nil || len(list) != 1 || list[0].GetNumber() != pr.GetNumber() {
		t.Fatalf("List head=acme:bump = %v, %v", list, err)
	}

	// The App moves the head: push and synchronize.
	s.TakeEvents()
	tree, _, _ := c.Git.CreateTree(ctx, "acme", "infra", pr.GetHead().GetSHA(), []*github.TreeEntry{{Path: github.String("x"), Mode: github.String("100644"), Type: github.String("blob"), Content: github.String("x")}})
	commit, _, _ := c.Git.CreateCommit(ctx, "acme", "infra", &github.Commit{Message: github.String("more"), Tree: tree, Parents: []*github.Commit{{SHA: pr.GetHead().SHA}}}, nil)
	if _, _, err := c.Git.UpdateRef(ctx, "acme", "infra", &github.Reference{Ref: github.String("refs/heads/bump"), Object: &github.GitObject{SHA: commit.SHA}}, false); err != nil {
		t.Fatal(err)
	}
	if got := eventNames(s.TakeEvents()); got != "push,pull_request.synchronize" {
		t.Errorf("events after a push = %s", got)
	}

	closed, _, err := c.PullRequests.Edit(ctx, "acme", "infra", pr.GetNumber(), &github.PullRequest{State: github.String("closed")})
	if err != nil || closed.GetState() != "closed" {
		t.Fatalf("close: %v %v", closed.GetState(), err)
	}
	evs := s.TakeEvents()
	if got := eventNames(evs); got != "pull_request.closed" {
		t.Fatalf("events after closing = %s", got)
	}
	var ev github.PullRequestEvent
	_ = json.Unmarshal(evs[0].Payload, &ev)
	if ev.GetPullRequest().GetMerged() || ev.GetSender().GetLogin() != s.BotLogin() {
		t.Errorf("closed event: merged %v, sender %q", ev.GetPullRequest().GetMerged(), ev.GetSender().GetLogin())
	}
	list, _, _ = c.PullRequests.List(ctx, "acme", "infra", &github.PullRequestListOptions{Head: "acme:bump"})
	if len(list) != 0 {
		t.Errorf("open PRs of bump after closing: %d", len(list))
	}
}

func eventNames(evs []githubfake.Event) string {
	var names []string
	for _, e := range evs {
		var m struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(e.Payload, &m)
		n := e.Name
		if m.Action != "" {
			n += "." + m.Action
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// TestTagPushAndCommitComments pushes a lightweight and an annotated tag,
// and comments on the tagged commit as the App.
func TestTagPushAndCommitComments(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	main := s.Branch(repoName, "main")
	light := s.CreateTag(repoName, "shop/staging/2026/12/02/1030-ana", "main", false, "ana")
	annotated := s.CreateTag(repoName, "v1", "main", true, "ana")
	if light != main || annotated == main {
		t.Fatalf("tag objects: lightweight %s, annotated %s, commit %s", light, annotated, main)
	}
	for _, tc := range []struct{ name, after string }{{"shop/staging/2026/12/02/1030-ana", main}, {"v1", annotated}} {
		var ev github.PushEvent
		if err := json.Unmarshal(s.TagPushEvent(repoName, tc.name, "ana"), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetRef() != "refs/tags/"+tc.name || ev.GetAfter() != tc.after || !ev.GetCreated() || len(ev.Commits) != 0 || ev.GetHeadCommit().GetID() != main {
			t.Errorf("push of %s: ref %s after %s created %v commits %d head %s", tc.name, ev.GetRef(), ev.GetAfter(), ev.GetCreated(), len(ev.Commits), ev.GetHeadCommit().GetID())
		}
		if ev.GetSender().GetLogin() != "ana" || ev.GetInstallation().GetID() != installID {
			t.Errorf("push of %s: sender %q installation %d", tc.name, ev.GetSender().GetLogin(), ev.GetInstallation().GetID())
		}
	}

	cc, resp, err := c.Repositories.CreateComment(ctx, "acme", "infra", main, &github.RepositoryComment{Body: github.String("bad tag")})
	if err != nil || resp.StatusCode != 201 || cc.GetUser().GetLogin() != s.BotLogin() || cc.GetCommitID() != main {
		t.Fatalf("CreateComment: %v %+v", err, cc)
	}
	_, _, err = c.Repositories.CreateComment(ctx, "acme", "infra", strings.Repeat("3", 40), &github.RepositoryComment{Body: github.String("x")})
	wantStatus(t, err, 422, "No commit found")
	if got := s.CommitComments(repoName, main); len(got) != 1 || got[0].Body != "bad tag" {
		t.Errorf("CommitComments = %+v", got)
	}
}
