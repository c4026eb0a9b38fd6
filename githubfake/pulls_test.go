package githubfake_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"
	"github.com/planbot/planbot/githubfake"
)

func TestPullAndMerge(t *testing.T) {
	s, c := setup(t)
	s.Commit(repoName, "feature", map[string]string{"envs/stage/main.tf": "# stage\n", "docs/README.md": "hello\n"}, []string{"README.md", "envs/prod/main.tf"}, "rework")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Rework")
	checkPullReads(t, s, c, pr)
	checkMerge(t, s, c, pr)
}

// checkPullReads reads the pull request of TestPullAndMerge, its files and
// its reviews.
func checkPullReads(t *testing.T, s *githubfake.Server, c *github.Client, pr githubfake.PR) {
	ctx := t.Context()
	// First read: mergeable is null; second: computed.
	p, _, err := c.PullRequests.Get(ctx, "acme", "infra", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mergeable != nil || p.GetMergeableState() != "unknown" {
		t.Errorf("first read: mergeable %v state %q", p.Mergeable, p.GetMergeableState())
	}
	p, _, err = c.PullRequests.Get(ctx, "acme", "infra", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !p.GetMergeable() || p.GetMergeableState() != "clean" || p.GetHead().GetSHA() != pr.HeadSHA || p.GetChangedFiles() != 3 ||
		p.GetHead().GetRepo().GetID() != p.GetBase().GetRepo().GetID() || p.GetBase().GetRepo().GetCloneURL() != s.URL()+"/git/acme/infra.git" {
		t.Errorf("second read: %+v", p)
	}

	files, _, err := c.PullRequests.ListFiles(ctx, "acme", "infra", pr.Number, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.GetStatus()+" "+f.GetFilename()+" "+f.GetPreviousFilename())
	}
	want := []string{"renamed docs/README.md README.md", "removed envs/prod/main.tf ", "added envs/stage/main.tf "}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("files (-got +want):\n%s", diff)
	}

	rid := s.SubmitReview(repoName, pr.Number, "carol", "APPROVED", "")
	reviews, _, err := c.PullRequests.ListReviews(ctx, "acme", "infra", pr.Number, nil)
	if err != nil || len(reviews) != 1 || reviews[0].GetID() != rid || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != pr.HeadSHA {
		t.Errorf("reviews = %v, %v", reviews, err)
	}
}

// checkMerge merges the pull request of TestPullAndMerge: a stale head is
// refused, the squash lands on main and closes the PR, and a second merge
// is refused.
func checkMerge(t *testing.T, s *githubfake.Server, c *github.Client, pr githubfake.PR) {
	ctx := t.Context()
	// A stale sha is refused with 409.
	_, resp, err := c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: pr.BaseSHA})
	if resp == nil || resp.StatusCode != 409 || !strings.Contains(err.Error(), "Head branch was modified. Review and try the merge again.") {
		t.Fatalf("stale merge: %v", err)
	}
	if _, resp, _ := c.PullRequests.IsMerged(ctx, "acme", "infra", pr.Number); resp.StatusCode != 404 {
		t.Errorf("IsMerged before merge: %d", resp.StatusCode)
	}
	res, _, err := c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: pr.HeadSHA, MergeMethod: "squash"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.GetMerged() || res.GetMessage() != "Pull Request successfully merged" || s.Branch(repoName, "main") != res.GetSHA() {
		t.Errorf("merge = %+v, main at %s", res, s.Branch(repoName, "main"))
	}
	if got, ok := s.FileAt(repoName, "main", "envs/stage/main.tf"); !ok || got != "# stage\n" {
		t.Errorf("main after merge: %q %v", got, ok)
	}
	if _, ok := s.FileAt(repoName, "main", "README.md"); ok {
		t.Error("README.md still on main")
	}
	after := s.PR(repoName, pr.Number)
	if after.State != "closed" || !after.Merged || after.MergeCommitSHA != res.GetSHA() {
		t.Errorf("PR after merge = %+v", after)
	}
	if merged, _, err := c.PullRequests.IsMerged(ctx, "acme", "infra", pr.Number); err != nil || !merged {
		t.Errorf("IsMerged = %v, %v", merged, err)
	}
	_, resp, _ = c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: pr.HeadSHA})
	if resp.StatusCode != 405 {
		t.Errorf("merge of closed PR: %d", resp.StatusCode)
	}
	ev, err := github.ParseWebHook("pull_request", s.PullRequestEvent("closed", repoName, pr.Number))
	if err != nil {
		t.Fatal(err)
	}
	closed := ev.(*github.PullRequestEvent)
	if closed.GetAction() != "closed" || !closed.GetPullRequest().GetMerged() || closed.GetPullRequest().GetMergeCommitSHA() != res.GetSHA() || closed.GetSender().GetLogin() != "planbot[bot]" {
		t.Errorf("closed event = %+v", closed.GetPullRequest())
	}
}

// TestMergeRequiredStatusChecks: branch protection that requires status
// checks refuses the merge, as GitHub words it, until the head has a
// success status of each.
func TestMergeRequiredStatusChecks(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	sha := s.Commit(repoName, "feature", map[string]string{"README.md": "feature\n"}, nil, "feature")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Checked")
	s.RequireStatusChecks(repoName, "main", "ci/test", "planbot/apply")
	merge := func() (*github.Response, error) {
		_, resp, err := c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: sha})
		return resp, err
	}
	status := func(context, state string) {
		t.Helper()
		if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "infra", sha, &github.RepoStatus{State: github.String(state), Context: github.String(context)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		context, state, want string
	}{
		{want: "2 of 2 required status checks are expected."},
		{context: "CI/test", state: "success", want: `Required status check "planbot/apply" is expected.`},
		{context: "planbot/apply", state: "failure", want: `Required status check "planbot/apply" is expected.`},
		{context: "planbot/apply", state: "success"},
	} {
		if step.context != "" {
			status(step.context, step.state)
		}
		resp, err := merge()
		if step.want == "" {
			if err != nil {
				t.Fatalf("merge with every required status: %v", err)
			}
			continue
		}
		if resp == nil || resp.StatusCode != 405 || !strings.Contains(err.Error(), step.want) {
			t.Fatalf("merge after %s %s: %v, want 405 %q", step.context, step.state, err, step.want)
		}
	}
	if !s.PR(repoName, pr.Number).Merged {
		t.Error("not merged")
	}
}

func TestMergeConflictAndCommit(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	s.Commit(repoName, "feature", map[string]string{"README.md": "feature\n"}, nil, "feature")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Conflict")
	s.Commit(repoName, "main", map[string]string{"README.md": "main\n"}, nil, "main moves")
	c.PullRequests.Get(ctx, "acme", "infra", pr.Number) // starts the computation
	p, _, err := c.PullRequests.Get(ctx, "acme", "infra", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mergeable == nil || *p.Mergeable || p.GetMergeableState() != "dirty" {
		t.Errorf("conflicting PR: mergeable %v state %q", p.Mergeable, p.GetMergeableState())
	}
	_, resp, err := c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: pr.HeadSHA})
	if resp.StatusCode != 405 || !strings.Contains(err.Error(), "Pull Request is not mergeable") {
		t.Errorf("merge of conflicting PR: %v", err)
	}

	// A push to the head branch moves the PR and refs/pull/N/head.
	sha := s.Commit(repoName, "feature", map[string]string{"README.md": "main\n"}, nil, "resolve")
	if got := s.PR(repoName, pr.Number).HeadSHA; got != sha {
		t.Errorf("head = %s, want %s", got, sha)
	}
	out, err := exec.Command("git", "--git-dir", s.Repo(repoName).Dir, "rev-parse", "refs/pull/1/head").Output()
	if err != nil || strings.TrimSpace(string(out)) != sha {
		t.Errorf("refs/pull/1/head = %s (%v), want %s", out, err, sha)
	}
	res, _, err := c.PullRequests.Merge(ctx, "acme", "infra", pr.Number, "", &github.PullRequestOptions{SHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	parents, err := exec.Command("git", "--git-dir", s.Repo(repoName).Dir, "rev-list", "--parents", "-n1", res.GetSHA()).Output()
	if err != nil || len(strings.Fields(string(parents))) != 3 {
		t.Errorf("merge commit parents: %s %v", parents, err)
	}
}

func TestForkPR(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	fork := s.Fork(repoName, "mallory")
	sha := s.Commit(fork.FullName, "evil", map[string]string{"envs/prod/main.tf": "# evil\n"}, nil, "evil")
	pr := s.OpenPR(repoName, "mallory:evil", "main", "mallory", "Fork PR")
	p, _, err := c.PullRequests.Get(ctx, "acme", "infra", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetHead().GetRepo().GetID() == p.GetBase().GetRepo().GetID() || p.GetHead().GetRepo().GetFullName() != "mallory/infra" || p.GetHead().GetSHA() != sha {
		t.Errorf("fork PR head = %+v", p.GetHead())
	}
	sha2 := s.Commit(fork.FullName, "evil", map[string]string{"x": "y"}, nil, "more")
	out, err := exec.Command("git", "--git-dir", s.Repo(repoName).Dir, "rev-parse", "refs/pull/1/head").Output()
	if err != nil || strings.TrimSpace(string(out)) != sha2 {
		t.Errorf("refs/pull/1/head = %s (%v), want %s", out, err, sha2)
	}
	s.DeleteHeadRepo(repoName, pr.Number)
	p, _, err = c.PullRequests.Get(ctx, "acme", "infra", pr.Number)
	if err != nil || p.GetHead().Repo != nil {
		t.Errorf("deleted head repo: %v %v", p.GetHead().Repo, err)
	}
}
