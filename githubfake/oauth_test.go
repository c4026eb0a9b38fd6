package githubfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startCallback serves h as the web app a browser flow redirects back to,
// until the test ends, and returns its URL.
func startCallback(t *testing.T, h http.Handler) string {
	back := httptest.NewServer(h)
	t.Cleanup(back.Close)
	return back.URL
}

// authorizeAs walks the authorize step as login and returns the query the
// fake redirected to the callback with.
func authorizeAs(t *testing.T, s *Server, callback, login, state string) url.Values {
	t.Helper()
	page, err := http.Get(s.URL() + "/login/oauth/authorize?" + url.Values{"client_id": {s.ClientID()}, "redirect_uri": {callback}, "state": {state}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %d", page.StatusCode)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(s.URL()+"/login/oauth/authorize", url.Values{"client_id": {s.ClientID()}, "redirect_uri": {callback}, "state": {state}, "login": {login}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(u.String(), callback) {
		t.Fatalf("redirected to %s, want %s", u, callback)
	}
	return u.Query()
}

func exchange(t *testing.T, s *Server, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("access_token: %d, want 200 even on errors", resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func getJSON(t *testing.T, s *Server, token, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.APIURL()+strings.TrimPrefix(path, "/"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		_ = json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

func TestOAuthWebFlow(t *testing.T) {
	s := New(t)
	s.CreateRepo("acme/infra", map[string]string{"README.md": "x"})
	s.CreateRepo("acme/secret", map[string]string{"README.md": "x"})
	s.CreateRepo("acme/elsewhere", map[string]string{"README.md": "x"})
	s.AddInstallation(7, "acme/infra", "acme/secret")
	s.SetCollaborator("acme/infra", "alice", "write")
	s.SetCollaborator("acme/secret", "bob", "read")
	s.SetCollaborator("acme/elsewhere", "alice", "admin") // not installed

	callback := startCallback(t, http.NotFoundHandler()) + "/auth/callback"
	q := authorizeAs(t, s, callback, "alice", "st4te")
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	base := url.Values{"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "redirect_uri": {callback}}
	withCode := func(code string) url.Values {
		f := url.Values{"code": {code}}
		for k, v := range base {
			f[k] = v
		}
		return f
	}
	bad := withCode(q.Get("code"))
	bad.Set("client_secret", "nope")
	if got := exchange(t, s, bad); got["error"] != "incorrect_client_credentials" {
		t.Errorf("bad secret: %v", got)
	}
	tok := exchange(t, s, withCode(q.Get("code")))
	access, _ := tok["access_token"].(string)
	if !strings.HasPrefix(access, "ghu_") || tok["token_type"] != "bearer" || tok["expires_in"] != float64(28800) {
		t.Fatalf("token answer %v", tok)
	}
	if got := exchange(t, s, withCode(q.Get("code"))); got["error"] != "bad_verification_code" {
		t.Errorf("code used twice: %v, want bad_verification_code", got)
	}

	var user map[string]any
	if st := getJSON(t, s, access, "/user", &user); st != 200 || user["login"] != "alice" {
		t.Errorf("GET /user = %d %v", st, user)
	}
	var ins struct {
		Installations []struct{ ID int64 } `json:"installations"`
	}
	if st := getJSON(t, s, access, "/user/installations", &ins); st != 200 || len(ins.Installations) != 1 || ins.Installations[0].ID != 7 {
		t.Errorf("GET /user/installations = %d %+v", st, ins)
	}
	var repos struct {
		Repositories []struct {
			FullName    string          `json:"full_name"`
			Permissions map[string]bool `json:"permissions"`
		} `json:"repositories"`
	}
	if st := getJSON(t, s, access, "/user/installations/7/repositories", &repos); st != 200 || len(repos.Repositories) != 1 ||
		repos.Repositories[0].FullName != "acme/infra" || !repos.Repositories[0].Permissions["push"] || repos.Repositories[0].Permissions["admin"] {
		t.Errorf("alice's repositories = %d %+v", st, repos)
	}
	bob := s.UserToken("bob")
	if st := getJSON(t, s, bob, "/user/installations/7/repositories", &repos); st != 200 || len(repos.Repositories) != 1 ||
		repos.Repositories[0].FullName != "acme/secret" || repos.Repositories[0].Permissions["push"] || !repos.Repositories[0].Permissions["pull"] {
		t.Errorf("bob's repositories = %d %+v", st, repos)
	}
	var one struct {
		FullName    string          `json:"full_name"`
		Permissions map[string]bool `json:"permissions"`
	}
	if st := getJSON(t, s, bob, "/repos/acme/secret", &one); st != 200 || one.FullName != "acme/secret" || one.Permissions["push"] || !one.Permissions["pull"] {
		t.Errorf("GET /repos/acme/secret as bob = %d %+v", st, one)
	}
	for _, path := range []string{"/repos/acme/infra", "/repos/acme/elsewhere", "/repos/acme/nope"} {
		if st := getJSON(t, s, bob, path, nil); st != http.StatusNotFound {
			t.Errorf("GET %s as bob = %d, want 404", path, st)
		}
	}
	if st := getJSON(t, s, s.InstallationToken(7), "/repos/acme/infra", &one); st != 200 || one.FullName != "acme/infra" {
		t.Errorf("GET /repos/acme/infra with the installation token = %d", st)
	}
	if st := getJSON(t, s, s.UserToken("carol"), "/user/installations/7/repositories", nil); st != http.StatusNotFound {
		t.Errorf("carol's repositories = %d, want 404", st)
	}
	if st := getJSON(t, s, s.InstallationToken(7), "/user", nil); st != http.StatusForbidden {
		t.Errorf("GET /user with an installation token = %d, want 403", st)
	}
	s.Advance(9 * time.Hour)
	if st := getJSON(t, s, access, "/user", nil); st != http.StatusUnauthorized {
		t.Errorf("GET /user with an expired token = %d, want 401", st)
	}
}

func TestOAuthCodeExpires(t *testing.T) {
	s := New(t)
	q := authorizeAs(t, s, "http://127.0.0.1:1/cb", "alice", "")
	s.Advance(11 * time.Minute)
	got := exchange(t, s, url.Values{"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "code": {q.Get("code")}})
	if got["error"] != "bad_verification_code" {
		t.Errorf("expired code: %v", got)
	}
}
