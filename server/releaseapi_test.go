package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/release/releasecmd"
)

const apiToken = "pbt_9f3c1e7a5b2d4c6e8a0b1c2d3e4f5a6b"

// api calls the release API with token and returns the status and the
// JSON answer.
func (e *testEnv) api(method, path, token, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(e.url, "/webhook")+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatalf("%s %s: %d, undecodable answer: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func startAPIServer(t *testing.T, extra ...string) *testEnv {
	gh := newShopFake(t)
	tokenFile := writeSecret(t, "api-token", apiToken+"\n")
	return startServer(t, gh, t.TempDir(), append([]string{"--api-token-file=" + tokenFile}, extra...)...)
}

// pullsOpened counts the pull requests planbot asked GitHub to open.
func pullsOpened(gh *githubfake.Server) int {
	n := 0
	for _, r := range gh.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/pulls") {
			n++
		}
	}
	return n
}

// TestReleaseAPI releases through POST /api/v1/releases: a newer release
// of the same environment supersedes the open older one, a digest takes
// the place of newTag, and a bad token or an unknown environment opens
// nothing.
func TestReleaseAPI(t *testing.T) {
	e := startAPIServer(t)
	gh := e.gh
	body := func(env, image, field, value string) string {
		return `{"repo": "` + testRepo + `", "environment": "` + env + `", "images": [{"name": "` + image + `", "` + field + `": "` + value + `"}], "source": "shop-ci run 42"}`
	}

	status, first := e.api("POST", "/api/v1/releases", apiToken, body("staging", "ghcr.io/acme/shop-api", "tag", "1.0.1"))
	if status != http.StatusCreated || first["state"] != "opened" || first["pr"] != float64(1) || !strings.HasSuffix(first["url"].(string), "/pull/1") {
		t.Fatalf("first release: %d %v", status, first)
	}
	status, second := e.api("POST", "/api/v1/releases", apiToken, body("staging", "ghcr.io/acme/shop-api", "tag", "1.0.2"))
	if status != http.StatusCreated || second["pr"] != float64(2) || !equalJSON(second["superseded"], []any{float64(1)}) {
		t.Fatalf("second release: %d %v", status, second)
	}
	if pr := gh.PR(testRepo, 1); pr.State != "closed" || pr.Merged {
		t.Errorf("superseded #1 is %s (merged %v), want closed", pr.State, pr.Merged)
	}
	if cs := botComments(gh, 1); len(cs) != 1 || !strings.Contains(cs[0].Body, "Superseded by #2") || !strings.Contains(cs[0].Body, "/pull/2") {
		t.Errorf("comments on #1 = %+v, want one linking #2", cs)
	}
	if pr := gh.PR(testRepo, 2); pr.State != "open" || !strings.Contains(pr.Body, "| `ghcr.io/acme/shop-api` | `initial` | `1.0.2` | shop-ci run 42 |") {
		t.Errorf("#2: %s\n%s", pr.State, pr.Body)
	}
	mustContain(t, gh.PR(testRepo, 2).Body, "Supersedes #1")

	// GET reads a release back.
	status, got := e.api("GET", "/api/v1/releases/"+first["id"].(string), apiToken, "")
	if status != http.StatusOK || got["pr"] != float64(1) || got["state"] != "opened" {
		t.Errorf("GET the first release: %d %v", status, got)
	}

	// A digest replaces newTag; the open release's api image is carried on.
	digest := "sha256:" + strings.Repeat("ab", 32)
	status, third := e.api("POST", "/api/v1/releases", apiToken, body("staging", "ghcr.io/acme/shop-worker", "digest", digest))
	if status != http.StatusCreated || third["pr"] != float64(3) {
		t.Fatalf("digest release: %d %v", status, third)
	}
	overlay, _ := gh.FileAt(testRepo, gh.PR(testRepo, 3).HeadSHA, "k8s/overlays/staging/kustomization.yaml")
	want := strings.Replace(strings.Replace(shopOverlay("staging"), "newTag: initial", "newTag: 1.0.2", 1), "newTag: initial", "digest: "+digest, 1)
	if overlay != want {
		t.Errorf("overlay after the digest release:\n%s\nwant:\n%s", overlay, want)
	}
	open := 0
	for n := 1; n <= 3; n++ {
		if gh.PR(testRepo, n).State == "open" {
			open++
		}
	}
	if open != 1 {
		t.Errorf("%d release PRs open for staging/shop, want 1", open)
	}

	// Refusals open nothing.
	before := pullsOpened(gh)
	for _, tc := range []struct {
		name, token, body string
		status            int
		err               string
	}{
		{"bad token", "pbt_wrong_token_0000000000000000", body("staging", "ghcr.io/acme/shop-api", "tag", "9"), http.StatusUnauthorized, "bearer token"},
		{"no token", "", body("staging", "ghcr.io/acme/shop-api", "tag", "9"), http.StatusUnauthorized, "bearer token"},
		{"unknown environment", apiToken, body("qa", "ghcr.io/acme/shop-api", "tag", "9"), http.StatusBadRequest, `unknown environment "qa"`},
		{"unknown image", apiToken, body("staging", "ghcr.io/acme/nope", "tag", "9"), http.StatusBadRequest, `unknown image "ghcr.io/acme/nope"`},
		{"bad tag", apiToken, body("staging", "ghcr.io/acme/shop-api", "tag", "-x"), http.StatusBadRequest, "not a valid tag"},
		{"unknown field", apiToken, `{"repo": "acme/infra", "env": "staging"}`, http.StatusBadRequest, `unknown field "env"`},
		{"not JSON", apiToken, `repo=acme/infra`, http.StatusBadRequest, "invalid JSON"},
		{"not installed", apiToken, strings.Replace(body("staging", "ghcr.io/acme/shop-api", "tag", "9"), testRepo, "acme/elsewhere", 1), http.StatusNotFound, "not installed"},
	} {
		status, m := e.api("POST", "/api/v1/releases", tc.token, tc.body)
		if status != tc.status || !strings.Contains(m["error"].(string), tc.err) {
			t.Errorf("%s: %d %v, want %d with %q", tc.name, status, m, tc.status, tc.err)
		}
	}
	if status, _ := e.api("GET", "/api/v1/releases/"+first["id"].(string), "nope-nope-nope-nope", ""); status != http.StatusUnauthorized {
		t.Errorf("GET with a bad token: %d", status)
	}
	if status, _ := e.api("GET", "/api/v1/releases/release-0000", apiToken, ""); status != http.StatusNotFound {
		t.Errorf("GET of an unknown release: %d", status)
	}
	if after := pullsOpened(gh); after != before {
		t.Errorf("refused requests opened %d pull requests", after-before)
	}
	if strings.Contains(e.logs.String(), apiToken) {
		t.Error("the API token is in the log")
	}
	for _, r := range gh.Requests() {
		if strings.Contains(r.Body, apiToken) || strings.Contains(r.Query.Encode(), apiToken) {
			t.Errorf("the API token reached GitHub: %s %s", r.Method, r.Path)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestReleaseCLI runs `planbot release` against the server: the pull
// request is opened and printed.
func TestReleaseCLI(t *testing.T) {
	e := startAPIServer(t)
	tokenFile := writeSecret(t, "token", apiToken)
	env := map[string]string{"PLANBOT_URL": strings.TrimSuffix(e.url, "/webhook"), "PLANBOT_API_TOKEN_FILE": tokenFile}
	var out, errb bytes.Buffer
	code := releasecmd.Main(t.Context(), []string{"--repo", testRepo, "--environment", "production", "--image", "ghcr.io/acme/shop-worker=2.0.0", "--source", "worker-ci"},
		func(k string) string { return env[k] }, http.DefaultClient, &out, &errb)
	if code != releasecmd.ExitOK || !strings.HasPrefix(out.String(), "opened #1 ") {
		t.Fatalf("planbot release: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if pr := e.gh.PR(testRepo, 1); pr.HeadRef != "planbot/release/production/shop" || !strings.Contains(pr.Body, "worker-ci") {
		t.Errorf("PR: %+v", pr)
	}
}

// TestReleaseDryRun releases with --dry-run: nothing is written to
// GitHub, and the answer and the audit log say dry_run.
func TestReleaseDryRun(t *testing.T) {
	e := startAPIServer(t, "--dry-run")
	status, ans := e.api("POST", "/api/v1/releases", apiToken, `{"repo": "`+testRepo+`", "environment": "staging", "images": [{"name": "ghcr.io/acme/shop-api", "tag": "1.0.1"}]}`)
	if status != http.StatusOK || ans["state"] != "dry_run" {
		t.Fatalf("dry-run release: %d %v", status, ans)
	}
	for _, r := range e.gh.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/access_tokens") {
			t.Errorf("a dry run wrote %s %s", r.Method, r.Path)
		}
	}
	var found bool
	for _, en := range e.auditLog() {
		found = found || (en.Action == "release" && en.Outcome == "dry_run")
	}
	if !found {
		t.Error("no release entry with outcome dry_run in the audit log")
	}
}

// TestReleaseRetryKeepsSupersededImages makes GitHub fail the opening of
// a release pull request after planbot closed the one it supersedes: the
// retried job carries the closed one's images on all the same.
func TestReleaseRetryKeepsSupersededImages(t *testing.T) {
	e := startAPIServer(t, "--retry-backoff=1s")
	gh := e.gh
	req := func(image, tag string) string {
		return `{"repo": "` + testRepo + `", "environment": "staging", "images": [{"name": "` + image + `", "tag": "` + tag + `"}]}`
	}
	if status, ans := e.api("POST", "/api/v1/releases", apiToken, req("ghcr.io/acme/shop-api", "1.0.1")); status != http.StatusCreated {
		t.Fatalf("first release: %d %v", status, ans)
	}
	gh.FailRoute(http.MethodPost, "/repos/"+testRepo+"/pulls", githubfake.Failure{Status: http.StatusBadGateway, Message: "Server Error"})
	status, ans := e.api("POST", "/api/v1/releases", apiToken, req("ghcr.io/acme/shop-worker", "2.0.0"))
	if status == http.StatusAccepted {
		id := ans["id"].(string)
		waitFor(t, time.Minute, "the retried release", func() bool {
			status, ans = e.api("GET", "/api/v1/releases/"+id, apiToken, "")
			return status != http.StatusAccepted
		})
	}
	if status != http.StatusCreated && status != http.StatusOK || ans["pr"] != float64(2) || !equalJSON(ans["superseded"], []any{float64(1)}) {
		t.Fatalf("retried release: %d %v", status, ans)
	}
	if n := pullsOpened(gh); n != 3 {
		t.Errorf("%d requests to open a pull request, want 3 (one failed)", n)
	}
	if gh.PR(testRepo, 1).State != "closed" {
		t.Error("#1 is not closed")
	}
	overlay, _ := gh.FileAt(testRepo, gh.PR(testRepo, 2).HeadSHA, "k8s/overlays/staging/kustomization.yaml")
	want := strings.Replace(strings.Replace(shopOverlay("staging"), "newTag: initial", "newTag: 1.0.1", 1), "newTag: initial", "newTag: 2.0.0", 1)
	if overlay != want {
		t.Errorf("overlay of #2:\n%s\nwant the api of #1 carried on:\n%s", overlay, want)
	}
}
