package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

const testRepo = "acme/infra"

// env is a web page on a fake GitHub and a real SQLite store.
type env struct {
	t    *testing.T
	gh   *githubfake.Server
	st   store.Store
	h    *Handler
	srv  *httptest.Server
	logs *bytes.Buffer
	// now is the handler's clock.
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	gh := githubfake.New(t)
	gh.CreateRepo(testRepo, map[string]string{"main.tf": "", "CODEOWNERS": "* @alice\n"})
	gh.CreateRepo("acme/hidden", map[string]string{"README.md": "x"})
	gh.AddInstallation(1, testRepo, "acme/hidden")
	gh.SetCollaborator(testRepo, "alice", "write")
	gh.SetCollaborator(testRepo, "rita", "read")
	gh.SetCollaborator("acme/hidden", "alice", "admin")
	st := sqlitetest.New(t)
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, gh: gh, st: st, logs: new(bytes.Buffer), now: time.Now()}
	e.h = &Handler{
		ClientID: gh.ClientID(), ClientSecret: []byte(gh.ClientSecret()), WebURL: gh.URL() + "/", APIURL: gh.APIURL(),
		Plans: st, Locks: st, Audit: st, Jobs: st, Logs: st, Health: st,
		GitHub: func(id int64) GitHub { return app.Installation(id) },
		Info:   Info{Version: "test", Started: time.Now(), Workers: 2, Sandbox: true, DriftPass: "drift"},
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return e.now }, LivePoll: 10 * time.Millisecond,
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	e.h.ExternalURL = e.srv.URL
	if err := e.h.Init(); err != nil {
		t.Fatal(err)
	}
	return e
}

// client returns a browser-like client: a cookie jar, no redirects
// followed.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login walks GitHub's web flow as login and returns the logged-in client.
func (e *env) login(login string) *http.Client {
	e.t.Helper()
	c := e.client()
	resp := e.get(c, "/login", http.StatusFound)
	auth, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(auth.String(), e.gh.URL()+"/login/oauth/authorize") {
		e.t.Fatalf("login redirects to %s", auth)
	}
	q := auth.Query()
	resp, err := c.PostForm(e.gh.URL()+"/login/oauth/authorize", url.Values{
		"client_id": {q.Get("client_id")}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")}, "login": {login},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	resp = e.get(c, back.RequestURI(), http.StatusSeeOther)
	if resp.Header.Get("Location") != "/" {
		e.t.Fatalf("callback redirects to %q, want /", resp.Header.Get("Location"))
	}
	return c
}

// get requests path and checks the status.
func (e *env) get(c *http.Client, path string, want int) *http.Response {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != want {
		e.t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
	}
	return resp
}

func (e *env) body(c *http.Client, path string, want int) string {
	e.t.Helper()
	b, _ := io.ReadAll(e.get(c, path, want).Body)
	return string(b)
}

// csrfOf returns the CSRF token of a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func TestLoginSessionCookie(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice")
	u, _ := url.Parse(e.srv.URL)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after the login")
	}
	home := e.body(c, "/", http.StatusOK)
	if !strings.Contains(home, "@alice") || !strings.Contains(home, testRepo) {
		t.Errorf("home page of alice lacks her login or %s:\n%s", testRepo, home)
	}
	// The user token is never in a URL, a page or the log.
	var askedUser bool
	for _, r := range e.gh.Requests() {
		askedUser = askedUser || r.Method == "GET" && r.Path == "/user"
		if strings.Contains(r.Query.Encode(), "ghu_") {
			t.Errorf("a user token in the URL of %s %s", r.Method, r.Path)
		}
	}
	if !askedUser {
		t.Fatal("the login never asked GitHub for the user")
	}
	if strings.Contains(e.logs.String(), "ghu_") || strings.Contains(home, "ghu_") || strings.Contains(session.Value, "ghu_") {
		t.Errorf("a user token leaked into the log, a page or the cookie")
	}
	if strings.Contains(e.logs.String(), e.gh.ClientSecret()) {
		t.Errorf("the client secret is in the log")
	}
}

func TestCookieAttributes(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	resp := e.get(c, "/login", http.StatusFound)
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
		t.Errorf("state cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", ck)
	}
	e.h.ExternalURL = "https://planbot.example.com"
	resp = e.get(c, "/login", http.StatusFound)
	if ck := resp.Cookies()[0]; !ck.Secure {
		t.Errorf("state cookie %+v behind an https external URL: want Secure", ck)
	}
}

func TestForgedCookieRefused(t *testing.T) {
	e := newEnv(t)
	other, err := newSealer([]byte("another secret"))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := e.h.sealer.seal(sessionCookie, session{ID: "x", Login: "alice", Token: e.gh.UserToken("alice"), Expires: e.now.Add(time.Hour)})
	forged, _ := other.seal(sessionCookie, session{ID: "x", Login: "alice", Token: e.gh.UserToken("alice"), Expires: e.now.Add(time.Hour)})
	moved, _ := e.h.sealer.seal(stateCookie, session{ID: "x", Login: "alice", Token: e.gh.UserToken("alice"), Expires: e.now.Add(time.Hour)})
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1
	plain := "eyJpZCI6IngiLCJsb2dpbiI6ImFsaWNlIn0"
	for name, value := range map[string]string{"another key": forged, "another cookie's": moved, "a changed byte": string(flipped), "unsealed JSON": plain} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/locks", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		resp, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("%s session cookie: %d %s, want a redirect to log in", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/locks", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: good})
	if resp, err := e.client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the genuine cookie: %v %v, want 200", resp.StatusCode, err)
	}
}

func TestExpiredSessionRefused(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice")
	e.get(c, "/locks", http.StatusOK)
	// The same cookie, replayed after its expiry.
	e.now = e.now.Add(sessionTTL + time.Minute)
	resp := e.get(c, "/locks", http.StatusSeeOther)
	if !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("expired session: redirected to %q, want the login", resp.Header.Get("Location"))
	}
	if resp, err := c.PostForm(e.srv.URL+"/locks/release", url.Values{"repo": {testRepo}}); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with an expired session: %v %v, want 401", resp.StatusCode, err)
	}
}

func TestStateChecked(t *testing.T) {
	e := newEnv(t)
	// A code for alice, obtained outside this browser's login.
	code := func(state string) string {
		resp, err := e.client().PostForm(e.gh.URL()+"/login/oauth/authorize", url.Values{
			"client_id": {e.gh.ClientID()}, "redirect_uri": {e.srv.URL + "/auth/callback"}, "state": {state}, "login": {"alice"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, _ := url.Parse(resp.Header.Get("Location"))
		return u.Query().Get("code")
	}
	// No state cookie at all (a login this browser never started).
	e.get(e.client(), "/auth/callback?state=abc&code="+code("abc"), http.StatusBadRequest)
	// A started login, answered with another state, or none.
	c := e.client()
	e.get(c, "/login", http.StatusFound)
	e.get(c, "/auth/callback?state=abc&code="+code("abc"), http.StatusBadRequest)
	e.get(c, "/auth/callback?code="+code(""), http.StatusBadRequest)
	// An expired state.
	c = e.client()
	loc, _ := url.Parse(e.get(c, "/login", http.StatusFound).Header.Get("Location"))
	st := loc.Query().Get("state")
	e.now = e.now.Add(stateTTL + time.Second)
	e.get(c, "/auth/callback?state="+st+"&code="+code(st), http.StatusBadRequest)
	e.get(c, "/", http.StatusSeeOther) // still not logged in
	// A bad code with the right state.
	e.now = time.Now()
	c = e.client()
	loc, _ = url.Parse(e.get(c, "/login", http.StatusFound).Header.Get("Location"))
	e.get(c, "/auth/callback?state="+loc.Query().Get("state")+"&code=nope", http.StatusUnauthorized)
}

func TestPostNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	e.lock(t, 7)
	c := e.login("alice")
	page := e.body(c, "/locks", http.StatusOK)
	token := csrfOf(t, page)
	form := url.Values{"repo": {testRepo}, "dir": {"envs/dev"}, "workspace": {"default"}, "pr": {"7"}}
	post := func(form url.Values, want int) {
		t.Helper()
		resp, err := c.PostForm(e.srv.URL+"/locks/release", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST with csrf %q: %d, want %d", form.Get("csrf"), resp.StatusCode, want)
		}
	}
	post(form, http.StatusForbidden)
	form.Set("csrf", "00"+token[2:])
	post(form, http.StatusForbidden)
	// Another session's token.
	other := csrfOf(t, e.body(e.login("alice"), "/locks", http.StatusOK))
	form.Set("csrf", other)
	post(form, http.StatusForbidden)
	if locks, _ := e.st.Locks(t.Context(), testRepo); len(locks) != 1 {
		t.Fatalf("a POST without the right CSRF token released the lock")
	}
	form.Set("csrf", token)
	post(form, http.StatusSeeOther)
	if locks, _ := e.st.Locks(t.Context(), testRepo); len(locks) != 0 {
		t.Errorf("the POST with the CSRF token did not release the lock: %+v", locks)
	}
	// Logging out is a POST too.
	if resp, err := c.PostForm(e.srv.URL+"/logout", url.Values{}); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF: %v %v, want 403", resp.StatusCode, err)
	}
}

// lock makes PR pr hold envs/dev, with a plan naming its project.
func (e *env) lock(t *testing.T, pr int) {
	t.Helper()
	if _, _, err := e.st.AcquireLock(t.Context(), store.Lock{Repo: testRepo, Dir: "envs/dev", Workspace: "default", PR: pr, HeadSHA: "abc", User: "alice"}); err != nil {
		t.Fatal(err)
	}
	res, _ := json.Marshal(planbot.Result{Status: planbot.StatusPlanned, Summary: "Plan: 1 to add, 0 to change, 0 to destroy."})
	if _, err := e.st.SavePlan(t.Context(), store.Plan{Repo: testRepo, PR: pr, HeadSHA: "abc", BaseSHA: "b", Project: "dev", Dir: "envs/dev",
		Workspace: "default", Kind: "terraform", Status: "planned", Result: res}); err != nil {
		t.Fatal(err)
	}
}

func TestUnlockNeedsWrite(t *testing.T) {
	e := newEnv(t)
	e.gh.Commit(testRepo, "change", map[string]string{"main.tf": "# changed\n"}, nil, "change")
	pr := e.gh.OpenPR(testRepo, "change", "main", "alice", "a change")
	e.lock(t, pr.Number)
	form := func(c *http.Client) url.Values {
		return url.Values{"csrf": {csrfOf(t, e.body(c, "/locks", http.StatusOK))}, "repo": {testRepo}, "dir": {"envs/dev"}, "workspace": {"default"}, "pr": {strconv.Itoa(pr.Number)}}
	}
	rita := e.login("rita")
	resp, err := rita.PostForm(e.srv.URL+"/locks/release", form(rita))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read user's release: %v %v, want 403", resp.StatusCode, err)
	}
	alice := e.login("alice")
	if resp, err = alice.PostForm(e.srv.URL+"/locks/release", form(alice)); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("write user's release: %v %v, want 303", resp.StatusCode, err)
	}
	entries, _ := e.st.Audit(t.Context(), store.AuditFilter{Repo: testRepo})
	if len(entries) != 1 || entries[0].Action != audit.ActionUnlock || entries[0].Actor != "alice" || entries[0].Project != "dev" || entries[0].PR != pr.Number {
		t.Errorf("audit after the release = %+v, want one unlock by alice of dev", entries)
	}
	var told bool
	for _, c := range e.gh.Comments(testRepo, pr.Number) {
		told = told || strings.Contains(c.Body, "@alice released the lock of `envs/dev`")
	}
	if !told {
		t.Errorf("the pull request was not told of the release: %+v", e.gh.Comments(testRepo, pr.Number))
	}
}

func TestNoAccessNoTrace(t *testing.T) {
	e := newEnv(t)
	e.lock(t, 3)
	for _, login := range []string{"mallory", "rita"} {
		c := e.login(login)
		home := e.body(c, "/", http.StatusOK)
		if strings.Contains(home, "acme/hidden") {
			t.Errorf("%s sees acme/hidden on the home page", login)
		}
		e.get(c, "/acme/hidden/pull/1", http.StatusNotFound)
		e.get(c, "/acme/nonexistent/pull/1", http.StatusNotFound)
	}
	mallory := e.login("mallory")
	if home := e.body(mallory, "/", http.StatusOK); strings.Contains(home, testRepo) {
		t.Errorf("mallory, without access, sees %s on the home page", testRepo)
	}
	e.get(mallory, "/"+testRepo+"/pull/3", http.StatusNotFound)
	for _, p := range []string{"/locks", "/audit"} {
		if page := e.body(mallory, p, http.StatusOK); strings.Contains(page, testRepo) || strings.Contains(page, "envs/dev") {
			t.Errorf("mallory sees %s data on %s", testRepo, p)
		}
	}
	if exp := e.body(mallory, "/audit/export", http.StatusOK); exp != "" {
		t.Errorf("mallory's export: %q, want empty", exp)
	}
	// Nothing is visible without a login.
	for _, p := range []string{"/", "/" + testRepo + "/pull/3", "/locks", "/audit", "/audit/export", "/health"} {
		resp := e.get(e.client(), p, http.StatusSeeOther)
		if !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s without a login redirects to %q", p, resp.Header.Get("Location"))
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.st.EnqueueDelivery(ctx, store.Job{DeliveryID: "d1", Event: "pull_request", Payload: []byte("{}"), Key: testRepo + "#1"}); err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if ok, err := e.st.ClaimPass(ctx, "drift", started, "replica-a", started, started.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("ClaimPass: %v %v", ok, err)
	}
	page := e.body(e.login("mallory"), "/health", http.StatusOK)
	for _, want := range []string{"test", "1 waiting", "0 running", "2 workers", "started <time datetime=\"2026-01-02T03:04:05Z\">", "not finished", "on (Landlock)"} {
		if !strings.Contains(page, want) {
			t.Errorf("health page lacks %q:\n%s", want, page)
		}
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/acme/infra/pull/1": "/acme/infra/pull/1", "/audit?actor=bob": "/audit?actor=bob", "": "/",
		"https://evil.example": "/", "//evil.example/x": "/", "/\\evil.example": "/", "/ok\r\nSet-Cookie: x": "/", "javascript:alert(1)": "/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	c := e.login("alice")
	token := csrfOf(t, e.body(c, "/locks", http.StatusOK))
	resp, err := c.PostForm(e.srv.URL+"/logout", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "You are logged out.") || strings.Contains(string(body), "@alice") {
		t.Errorf("logout: %d\n%s", resp.StatusCode, body)
	}
	e.get(c, "/locks", http.StatusSeeOther)
}
