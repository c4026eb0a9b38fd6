package githubapp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/githubfake"
)

func newClient(t *testing.T) (*githubfake.Server, *githubapp.App, *githubapp.Client) {
	t.Helper()
	gh := githubfake.New(t)
	gh.CreateRepo("acme/infra", map[string]string{"README.md": "hi\n", ".github/CODEOWNERS": "* @acme/platform\n"})
	gh.AddInstallation(7, "acme/infra")
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	return gh, app, app.Installation(7)
}

var repo = planbot.Repo{Owner: "acme", Name: "infra"}

// newClientWithPR is newClient with a pull request open in acme/infra:
// carol's branch adds a.tf.
func newClientWithPR(t *testing.T, branch, title string) (*githubfake.Server, *githubapp.Client, githubfake.PR) {
	t.Helper()
	gh, _, c := newClient(t)
	gh.Commit("acme/infra", branch, map[string]string{"a.tf": "#\n"}, nil, branch)
	return gh, c, gh.OpenPR("acme/infra", branch, "main", "carol", title)
}

func TestAppAuthentication(t *testing.T) {
	_, app, c := newClient(t)
	ctx := context.Background()
	login, err := app.BotLogin(ctx)
	if err != nil || login != "planbot[bot]" {
		t.Fatalf("BotLogin = %q, %v", login, err)
	}
	tok, err := c.Token(ctx)
	if err != nil || tok == "" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	again, _ := c.Token(ctx)
	if again != tok {
		t.Error("the installation token was not cached")
	}
	if app.Installation(7) != c {
		t.Error("installation clients are not reused")
	}
	if _, err := githubapp.New(githubapp.Options{AppID: 1, PrivateKey: []byte("not a key")}); planbot.ErrorCode(err) != planbot.EINVALID {
		t.Errorf("bad key: err = %v", err)
	}
}

func TestPullRequestAndFiles(t *testing.T) {
	gh, _, c := newClient(t)
	ctx := context.Background()
	files := map[string]string{}
	for i := 0; i < 130; i++ {
		files[fmt.Sprintf("envs/e%03d/main.tf", i)] = "# x\n"
	}
	gh.Commit("acme/infra", "many", files, nil, "many files")
	pr := gh.OpenPR("acme/infra", "many", "main", "carol", "Many")
	got, err := c.PullRequest(ctx, repo, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.HeadSHA != pr.HeadSHA || got.Author != "carol" || got.IsFork() || got.CloneURL == "" || got.BaseRef != "main" {
		t.Errorf("PullRequest = %+v", got)
	}
	changed, err := c.ChangedFiles(ctx, repo, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 130 {
		t.Errorf("ChangedFiles returned %d files over two pages, want 130", len(changed))
	}
	if _, err := c.PullRequest(ctx, repo, 999); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("missing PR: err = %v", err)
	}
}

func TestComments(t *testing.T) {
	_, c, pr := newClientWithPR(t, "b", "B")
	ctx := context.Background()
	cm, err := c.CreateComment(ctx, repo, pr.Number, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EditComment(ctx, repo, cm.ID, "hello again"); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateComment(ctx, repo, pr.Number, strings.Repeat("x", 65537))
	if planbot.ErrorCode(err) != planbot.EINVALID || !strings.Contains(err.Error(), "create comment") {
		t.Errorf("oversized comment: err = %v, want EINVALID naming the operation", err)
	}
	cs, err := c.ListComments(ctx, repo, pr.Number)
	if err != nil || len(cs) != 1 || cs[0].Body != "hello again" || cs[0].User != "planbot[bot]" {
		t.Fatalf("ListComments = %+v, %v", cs, err)
	}
	if err := c.React(ctx, repo, cm.ID, "eyes"); err != nil {
		t.Error(err)
	}
	long := strings.Repeat("é", 200)
	if err := c.SetStatus(ctx, repo, pr.HeadSHA, "planbot/plan", "success", long, ""); err != nil {
		t.Errorf("a long status description is not cut to GitHub's limit: %v", err)
	}
}

func TestPermissionsTeamsFiles(t *testing.T) {
	gh, _, c := newClient(t)
	ctx := context.Background()
	gh.SetCollaborator("acme/infra", "mona", "maintain")
	gh.AddTeamMember("acme", "platform", "mona")
	if p, err := c.Permission(ctx, repo, "mona"); err != nil || p != "write" {
		t.Errorf("Permission(mona) = %q, %v; want write (maintain maps to write)", p, err)
	}
	if p, err := c.Permission(ctx, repo, "nobody-at-all"); err != nil || p != "none" {
		t.Errorf("Permission(unknown) = %q, %v; want none", p, err)
	}
	if ok, err := c.IsTeamMember(ctx, "acme", "platform", "mona"); err != nil || !ok {
		t.Errorf("IsTeamMember(mona) = %v, %v", ok, err)
	}
	if ok, err := c.IsTeamMember(ctx, "acme", "platform", "carol"); err != nil || ok {
		t.Errorf("IsTeamMember(carol) = %v, %v", ok, err)
	}
	b, err := c.GetFile(ctx, repo, ".github/CODEOWNERS", "main")
	if err != nil || string(b) != "* @acme/platform\n" {
		t.Errorf("GetFile = %q, %v", b, err)
	}
	if _, err := c.GetFile(ctx, repo, "CODEOWNERS", "main"); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestMerge(t *testing.T) {
	gh, c, pr := newClientWithPR(t, "m", "M")
	ctx := context.Background()
	if m, err := c.DefaultMergeMethod(ctx, repo); err != nil || m != "merge" {
		t.Errorf("DefaultMergeMethod = %q, %v", m, err)
	}
	gh.SetMergeMethods("acme/infra", false, true)
	if m, err := c.DefaultMergeMethod(ctx, repo); err != nil || m != "squash" {
		t.Errorf("DefaultMergeMethod with merge commits off = %q, %v", m, err)
	}
	if _, err := c.Merge(ctx, repo, pr.Number, strings.Repeat("0", 40), "squash", "t"); planbot.ErrorCode(err) != planbot.ECONFLICT {
		t.Errorf("merge with a stale sha: err = %v, want ECONFLICT", err)
	}
	sha, err := c.Merge(ctx, repo, pr.Number, pr.HeadSHA, "squash", "t")
	if err != nil || sha == "" || !gh.PR("acme/infra", pr.Number).Merged {
		t.Errorf("Merge = %q, %v", sha, err)
	}
}

// TestRateLimitedRequest has GitHub answer 403 with the installation's
// rate limit used up for two hours: the error says until when, and the
// calls made before then fail the same way without reaching GitHub.
func TestRateLimitedRequest(t *testing.T) {
	gh, _, c := newClient(t)
	ctx := context.Background()
	gh.Commit("acme/infra", "f", map[string]string{"a.tf": "# a\n"}, nil, "a")
	pr := gh.OpenPR("acme/infra", "f", "main", "carol", "A")
	reset := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	path := fmt.Sprintf("/repos/acme/infra/pulls/%d", pr.Number)
	gh.FailRoute("GET", path, githubfake.RateLimited(7, reset))

	_, err := c.PullRequest(ctx, repo, pr.Number)
	var rl *githubapp.RateLimitError
	if !errors.As(err, &rl) || !rl.Until.Equal(reset) {
		t.Fatalf("err = %v; want a RateLimitError until %v", err, reset)
	}
	if code := planbot.ErrorCode(err); code != planbot.EINTERNAL {
		t.Errorf("error code = %q, want %q: a rate limit is not the PR's fault", code, planbot.EINTERNAL)
	}
	before := len(gh.Requests())
	_, err = c.ChangedFiles(ctx, repo, pr.Number)
	if !errors.As(err, &rl) || !rl.Until.Equal(reset) {
		t.Fatalf("second call: err = %v; want a RateLimitError until %v", err, reset)
	}
	if n := len(gh.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent while the limit lasts, want 0", n)
	}
}

// TestSecondaryRateLimit has GitHub answer a secondary limit with
// retry-after: the error waits that long.
func TestSecondaryRateLimit(t *testing.T) {
	gh, _, c := newClient(t)
	gh.FailNext(githubfake.Failure{
		Status:           http.StatusForbidden,
		Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		RetryAfter:       120,
	})
	start := time.Now()
	err := c.SetStatus(context.Background(), repo, strings.Repeat("a", 40), "planbot/plan", "pending", "x", "")
	var rl *githubapp.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v; want a RateLimitError", err)
	}
	if lo, hi := start.Add(119*time.Second), time.Now().Add(121*time.Second); rl.Until.Before(lo) || rl.Until.After(hi) {
		t.Errorf("Until = %v, want about 2 minutes after %v", rl.Until, start)
	}
}

// TestDryRunWrites checks that a dry-run client sends no write to GitHub
// and that its merge reports planbot.ErrDryRun instead of a merge commit.
func TestDryRunWrites(t *testing.T) {
	gh, _, pr := newClientWithPR(t, "d", "D")
	ctx := context.Background()
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	c := app.Installation(7)

	sha, err := c.Merge(ctx, repo, pr.Number, pr.HeadSHA, "merge", "t")
	if !errors.Is(err, planbot.ErrDryRun) || sha != "" {
		t.Errorf("dry-run Merge = %q, %v; want no sha and ErrDryRun", sha, err)
	}
	if _, err := c.CreateComment(ctx, repo, pr.Number, "hello"); err != nil {
		t.Errorf("dry-run CreateComment: %v", err)
	}
	if err := c.SetStatus(ctx, repo, pr.HeadSHA, "planbot/apply", "success", "d", ""); err != nil {
		t.Errorf("dry-run SetStatus: %v", err)
	}
	if gh.PR("acme/infra", pr.Number).Merged {
		t.Error("a dry-run merge merged the pull request")
	}
	for _, r := range gh.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/access_tokens") {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
}
