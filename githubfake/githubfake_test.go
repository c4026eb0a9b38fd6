package githubfake_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/githubfake"
)

const (
	repoName  = "acme/infra"
	installID = 7
)

// setup starts a fake with acme/infra installed and returns a go-github
// client authenticated as the installation through ghinstallation.
func setup(t *testing.T) (*githubfake.Server, *github.Client) {
	t.Helper()
	s := githubfake.New(t)
	s.CreateRepo(repoName, map[string]string{"README.md": "hello\n", "envs/prod/main.tf": "# prod\n"})
	s.AddInstallation(installID, repoName)
	return s, installClient(t, s, installID)
}

func installClient(t *testing.T, s *githubfake.Server, id int64) *github.Client {
	t.Helper()
	itr, err := ghinstallation.New(http.DefaultTransport, s.AppID(), id, s.PrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = strings.TrimSuffix(s.APIURL(), "/")
	c, err := github.NewClient(&http.Client{Transport: itr}).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends a raw request as planbot does (a User-Agent, and auth as a
// bearer token unless empty) and returns the response and its body.
func send(t *testing.T, method, url, auth string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "planbot-test")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// do sends a raw request and decodes the JSON body into a map.
func do(t *testing.T, method, url, auth string, body io.Reader) (*http.Response, map[string]any) {
	t.Helper()
	resp, b := send(t, method, url, auth, body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func TestCommentsPaginationAndLimit(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	s.Commit(repoName, "feature", map[string]string{"envs/prod/main.tf": "# changed\n"}, nil, "change")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Change prod")
	for range 5 {
		s.AddComment(repoName, pr.Number, "bob", "hi")
	}
	got, resp, err := c.Issues.ListComments(ctx, "acme", "infra", pr.Number, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2, Page: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || resp.NextPage != 3 || resp.PrevPage != 1 || resp.LastPage != 3 || resp.FirstPage != 1 {
		t.Errorf("page 2: %d items, next %d prev %d last %d first %d", len(got), resp.NextPage, resp.PrevPage, resp.LastPage, resp.FirstPage)
	}
	link := resp.Header.Get("Link")
	want := `<` + s.APIURL() + `repos/acme/infra/issues/1/comments?page=1&per_page=2>; rel="prev", <` + s.APIURL() + `repos/acme/infra/issues/1/comments?page=3&per_page=2>; rel="next", <` + s.APIURL() + `repos/acme/infra/issues/1/comments?page=3&per_page=2>; rel="last", <` + s.APIURL() + `repos/acme/infra/issues/1/comments?page=1&per_page=2>; rel="first"`
	if link != want {
		t.Errorf("Link = %s\nwant   %s", link, want)
	}

	ok := strings.Repeat("é", 65536)
	created, resp, err := c.Issues.CreateComment(ctx, "acme", "infra", pr.Number, &github.IssueComment{Body: &ok})
	if err != nil {
		t.Fatalf("65536 runes: %v", err)
	}
	if resp.StatusCode != 201 || created.GetUser().GetLogin() != "planbot[bot]" || created.GetUser().GetType() != "Bot" {
		t.Errorf("created = %d %v", resp.StatusCode, created.GetUser())
	}
	long := ok + "x"
	_, resp, err = c.Issues.CreateComment(ctx, "acme", "infra", pr.Number, &github.IssueComment{Body: &long})
	var ghErr *github.ErrorResponse
	if !errors.As(err, &ghErr) || resp.StatusCode != 422 {
		t.Fatalf("65537 runes: err %v", err)
	}
	wantErr := []github.Error{{Resource: "IssueComment", Code: "unprocessable", Field: "data", Message: "Body is too long (maximum is 65536 characters)"}}
	if diff := cmp.Diff(ghErr.Errors, wantErr); ghErr.Message != "Validation Failed" || diff != "" {
		t.Errorf("422 %q (-got +want):\n%s", ghErr.Message, diff)
	}
	// Measured mode: GitHub has been seen to accept up to 262,144 bytes,
	// whatever the characters.
	s.SetMeasuredBodyLimit(true)
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "infra", pr.Number, &github.IssueComment{Body: &long}); err != nil {
		t.Errorf("measured mode, 65537 runes in 131073 bytes: %v", err)
	}
	tooBig := strings.Repeat("x", 262145)
	if _, resp, _ := c.Issues.CreateComment(ctx, "acme", "infra", pr.Number, &github.IssueComment{Body: &tooBig}); resp.StatusCode != 422 {
		t.Errorf("measured mode, 262145 bytes: %d, want 422", resp.StatusCode)
	}
	s.SetMeasuredBodyLimit(false)
	// PATCH with a too-long body keeps the old one.
	if _, _, err := c.Issues.EditComment(ctx, "acme", "infra", created.GetID(), &github.IssueComment{Body: &long}); err == nil {
		t.Error("edit to 65537 runes succeeded")
	}
	edited := "edited"
	if _, _, err := c.Issues.EditComment(ctx, "acme", "infra", created.GetID(), &github.IssueComment{Body: &edited}); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, h := range s.CommentHistory(repoName, pr.Number) {
		if h.ID == created.GetID() {
			ops = append(ops, h.Op+":"+h.Body[:min(len(h.Body), 6)])
		}
	}
	if diff := cmp.Diff(ops, []string{"create:" + ok[:6], "edit:edited"}); diff != "" {
		t.Errorf("history (-got +want):\n%s", diff)
	}

	// Reactions: 201 first, 200 duplicate, 422 invalid.
	for i, want := range []int{201, 200} {
		_, resp, err := c.Reactions.CreateIssueCommentReaction(ctx, "acme", "infra", created.GetID(), "eyes")
		if err != nil || resp.StatusCode != want {
			t.Errorf("reaction %d: %v status %d, want %d", i, err, resp.StatusCode, want)
		}
	}
	if _, resp, _ := c.Reactions.CreateIssueCommentReaction(ctx, "acme", "infra", created.GetID(), "thumbsup"); resp.StatusCode != 422 {
		t.Errorf("invalid reaction: status %d", resp.StatusCode)
	}
	if n := len(s.Reactions(created.GetID())); n != 1 {
		t.Errorf("%d reactions, want 1", n)
	}
}

func TestClone(t *testing.T) {
	s, _ := setup(t)
	s.Commit(repoName, "feature", map[string]string{"a.tf": "a\n"}, nil, "a")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "A")
	tok := s.InstallationToken(installID)
	url := s.Repo(repoName).CloneURL
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	run := func(dir string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	tests := []struct {
		name   string
		header string
		wantOK bool
	}{
		{name: "no token", wantOK: false},
		{name: "bad token", header: "x-access-token:ghs_nope", wantOK: false},
		{name: "token", header: "x-access-token:" + tok, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			args := []string{}
			if tt.header != "" {
				args = append(args, "-c", "http.extraHeader=Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(tt.header)))
			}
			out, err := run(t.TempDir(), append(args, "clone", "--quiet", url, dir)...)
			if (err == nil) != tt.wantOK {
				t.Fatalf("clone: err %v, want ok %v: %s", err, tt.wantOK, out)
			}
			if !tt.wantOK {
				if !strings.Contains(out, "401") && !strings.Contains(out, "Authentication failed") && !strings.Contains(out, "could not read Username") {
					t.Errorf("clone without credentials: %s", out)
				}
				return
			}
			if b, err := os.ReadFile(filepath.Join(dir, "envs/prod/main.tf")); err != nil || string(b) != "# prod\n" {
				t.Errorf("cloned file: %q %v", b, err)
			}
			out, err = run(dir, append(args, "fetch", "--quiet", "origin", "pull/1/head")...)
			if err != nil {
				t.Fatalf("fetch pull/1/head: %v %s", err, out)
			}
			head, _ := run(dir, "rev-parse", "FETCH_HEAD")
			if strings.TrimSpace(head) != pr.HeadSHA {
				t.Errorf("FETCH_HEAD = %s, want %s", head, pr.HeadSHA)
			}
		})
	}
}

func TestContents(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	big := strings.Repeat("0123456789", 20)
	sha := s.Commit(repoName, "feature", map[string]string{".github/CODEOWNERS": "* @acme/infra\n", "big.txt": big}, nil, "owners")
	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "infra", "big.txt", &github.RepositoryContentGetOptions{Ref: sha})
	if err != nil {
		t.Fatal(err)
	}
	raw := *fc.Content
	lines := strings.Split(strings.TrimSuffix(raw, "\n"), "\n")
	for i, l := range lines[:len(lines)-1] {
		if len(l) != 60 {
			t.Errorf("line %d has %d chars", i, len(l))
		}
	}
	if !strings.HasSuffix(raw, "\n") || fc.GetEncoding() != "base64" {
		t.Errorf("content %q encoding %q", raw, fc.GetEncoding())
	}
	if got, err := fc.GetContent(); err != nil || got != big {
		t.Errorf("decoded = %q, %v", got, err)
	}
	if _, _, resp, err := c.Repositories.GetContents(ctx, "acme", "infra", ".github/CODEOWNERS", &github.RepositoryContentGetOptions{Ref: "main"}); resp.StatusCode != 404 || err == nil {
		t.Errorf("CODEOWNERS on main: %d", resp.StatusCode)
	}
	fc, _, _, err = c.Repositories.GetContents(ctx, "acme", "infra", ".github/CODEOWNERS", &github.RepositoryContentGetOptions{Ref: "feature"})
	if got, _ := fc.GetContent(); err != nil || got != "* @acme/infra\n" {
		t.Errorf("CODEOWNERS on feature: %q %v", got, err)
	}
	_, dir, _, err := c.Repositories.GetContents(ctx, "acme", "infra", "envs", nil)
	if err != nil || len(dir) != 1 || dir[0].GetPath() != "envs/prod" || dir[0].GetType() != "dir" {
		t.Errorf("dir = %v, %v", dir, err)
	}
}

func TestStatuses(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	sha := s.Branch(repoName, "main")
	str := func(v string) *string { return &v }
	for _, st := range []*github.RepoStatus{
		{State: str("pending"), Context: str("planbot/plan")},
		{State: str("success"), Context: str("PLANBOT/plan"), Description: str("ok")},
		{State: str("failure"), Context: str("other")},
	} {
		if _, _, err := c.Repositories.CreateStatus(ctx, "acme", "infra", sha, st); err != nil {
			t.Fatal(err)
		}
	}
	_, resp, err := c.Repositories.CreateStatus(ctx, "acme", "infra", sha, &github.RepoStatus{State: str("success"), Description: str(strings.Repeat("x", 141))})
	var ghErr *github.ErrorResponse
	if resp.StatusCode != 422 || !errors.As(err, &ghErr) || len(ghErr.Errors) != 1 || ghErr.Errors[0].Message != "description is too long (maximum is 140 characters)" {
		t.Errorf("141-char description: %v", err)
	}
	if _, resp, _ := c.Repositories.CreateStatus(ctx, "acme", "infra", sha, &github.RepoStatus{State: str("done")}); resp.StatusCode != 422 {
		t.Errorf("bad state: %d", resp.StatusCode)
	}
	list, _, err := c.Repositories.ListStatuses(ctx, "acme", "infra", "main", nil)
	if err != nil || len(list) != 3 || list[0].GetContext() != "other" {
		t.Errorf("list = %v %v", list, err)
	}
	comb, _, err := c.Repositories.GetCombinedStatus(ctx, "acme", "infra", sha, nil)
	if err != nil || comb.GetState() != "failure" || comb.GetTotalCount() != 2 {
		t.Errorf("combined = %v %v", comb, err)
	}
	if got := s.Statuses(repoName, sha); len(got) != 3 || got[0].Creator != "planbot[bot]" {
		t.Errorf("Statuses = %+v", got)
	}
}

func TestFailNext(t *testing.T) {
	s, c := setup(t)
	if _, _, err := c.Repositories.Get(t.Context(), "acme", "infra"); err != nil {
		t.Fatal(err)
	}
	s.FailNext(githubfake.Failure{
		Status:           403,
		Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		DocumentationURL: "https://docs.github.com/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits",
		RetryAfter:       60,
	})
	_, _, err := c.Repositories.Get(t.Context(), "acme", "infra")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Minute {
		t.Fatalf("err = %v", err)
	}
	// Only one request fails.
	if resp, _ := do(t, "GET", s.APIURL()+"repos/acme/infra", s.InstallationToken(installID), nil); resp.StatusCode != 200 {
		t.Errorf("after the failure: status %d", resp.StatusCode)
	}
}

func TestFailRouteRateLimited(t *testing.T) {
	s, c := setup(t)
	reset := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	s.FailRoute("GET", "/repos/ACME/infra", githubfake.RateLimited(installID, reset))
	// Another route is served.
	if _, _, _, err := c.Repositories.GetContents(t.Context(), "acme", "infra", "README.md", nil); err != nil {
		t.Fatalf("other route: %v", err)
	}
	resp, _ := do(t, "GET", s.APIURL()+"repos/acme/infra", s.InstallationToken(installID), nil)
	h := resp.Header
	if resp.StatusCode != 403 || h.Get("X-Ratelimit-Remaining") != "0" || h.Get("X-Ratelimit-Used") != h.Get("X-Ratelimit-Limit") ||
		h.Get("X-Ratelimit-Reset") != strconv.FormatInt(reset.Unix(), 10) || h.Get("X-Ratelimit-Resource") != "core" {
		t.Errorf("rate-limited answer: status %d headers %v", resp.StatusCode, h)
	}
	// go-github recognises it as a primary rate limit ending at reset.
	s.FailRoute("GET", "/repos/acme/infra", githubfake.RateLimited(installID, reset))
	_, _, err := c.Repositories.Get(t.Context(), "acme", "infra")
	var rate *github.RateLimitError
	if !errors.As(err, &rate) || !rate.Rate.Reset.Time.Equal(reset) || !strings.Contains(rate.Message, "API rate limit exceeded for installation ID") {
		t.Fatalf("err = %v", err)
	}
	// Each failure answers one request.
	if resp, _ := do(t, "GET", s.APIURL()+"repos/acme/infra", s.InstallationToken(installID), nil); resp.StatusCode != 200 {
		t.Errorf("after the failures: status %d", resp.StatusCode)
	}
}

func TestSign(t *testing.T) {
	got := githubfake.Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhooks(t *testing.T) {
	s, _ := setup(t)
	s.Commit(repoName, "feature", map[string]string{"a.tf": "a\n"}, nil, "a")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "A")
	before := pr.HeadSHA
	after := s.Commit(repoName, "feature", map[string]string{"a.tf": "b\n"}, nil, "b")
	c := s.AddComment(repoName, pr.Number, "bob", "/apply")
	rid := s.SubmitReview(repoName, pr.Number, "carol", "APPROVED", "")

	type got struct {
		header  http.Header
		payload []byte
	}
	ch := make(chan got, 10)
	hook := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Header.Clone(), b}
		w.WriteHeader(http.StatusAccepted)
	})}
	ln := newListener(t)
	go hook.Serve(ln)
	t.Cleanup(func() { hook.Close() })
	url := "http://" + ln.Addr().String() + "/webhook"

	ctx := context.Background()
	resp, id, err := s.Deliver(ctx, url, "s3cret", "pull_request", s.PullRequestEvent("synchronize", repoName, pr.Number))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("deliver: %v", err)
	}
	g := <-ch
	if g.header.Get("X-GitHub-Delivery") != id || g.header.Get("X-Hub-Signature-256") != githubfake.Sign([]byte("s3cret"), g.payload) ||
		g.header.Get("X-GitHub-Hook-Installation-Target-Type") != "integration" || !strings.HasPrefix(g.header.Get("User-Agent"), "GitHub-Hookshot/") ||
		!strings.HasPrefix(g.header.Get("X-Hub-Signature"), "sha1=") {
		t.Errorf("headers = %v", g.header)
	}
	ev, err := github.ParseWebHook("pull_request", g.payload)
	if err != nil {
		t.Fatal(err)
	}
	pe := ev.(*github.PullRequestEvent)
	if diff := cmp.Diff(
		[]any{pe.GetAction(), pe.GetNumber(), pe.GetBefore(), pe.GetAfter(), pe.GetPullRequest().GetHead().GetSHA(), pe.GetRepo().GetFullName(), pe.GetRepo().GetCloneURL(), pe.GetInstallation().GetID(), pe.GetSender().GetLogin()},
		[]any{"synchronize", pr.Number, before, after, after, repoName, s.URL() + "/git/acme/infra.git", int64(installID), "alice"}); diff != "" {
		t.Errorf("pull_request (-got +want):\n%s", diff)
	}

	if _, err := s.Redeliver(ctx, id); err != nil {
		t.Fatal(err)
	}
	if g := <-ch; g.header.Get("X-GitHub-Delivery") != id {
		t.Errorf("redelivery id %s, want %s", g.header.Get("X-GitHub-Delivery"), id)
	}

	if _, _, err := s.Deliver(ctx, url, "s3cret", "issue_comment", s.IssueCommentEvent(repoName, pr.Number, c)); err != nil {
		t.Fatal(err)
	}
	ev, err = github.ParseWebHook("issue_comment", (<-ch).payload)
	if err != nil {
		t.Fatal(err)
	}
	ic := ev.(*github.IssueCommentEvent)
	if !ic.GetIssue().IsPullRequest() || ic.GetIssue().GetNumber() != pr.Number || ic.GetComment().GetBody() != "/apply" || ic.GetComment().GetID() != c.ID || ic.GetSender().GetLogin() != "bob" || ic.GetInstallation().GetID() != installID {
		t.Errorf("issue_comment = %+v", ic)
	}

	if _, _, err := s.Deliver(ctx, url, "s3cret", "pull_request_review", s.ReviewEvent("submitted", repoName, pr.Number, rid)); err != nil {
		t.Fatal(err)
	}
	ev, err = github.ParseWebHook("pull_request_review", (<-ch).payload)
	if err != nil {
		t.Fatal(err)
	}
	re := ev.(*github.PullRequestReviewEvent)
	if re.GetReview().GetState() != "approved" || re.GetReview().GetCommitID() != after || re.GetReview().GetUser().GetLogin() != "carol" || re.GetPullRequest().GetNumber() != pr.Number {
		t.Errorf("review = %+v", re.GetReview())
	}
	if n := len(s.Deliveries()); n != 4 {
		t.Errorf("%d deliveries, want 4", n)
	}
}

func newListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
