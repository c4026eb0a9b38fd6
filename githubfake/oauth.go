package githubfake

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The web flow of the App's user tokens (GitHub reference §9.5), on the
// fake's web side and REST API:
//
//   - GET /login/oauth/authorize?client_id=…&redirect_uri=…&state=… shows
//     the page where a person signs in and authorizes the App: a form with
//     the login (prefilled from the login parameter). Posting it answers
//     302 to redirect_uri with code and state. An unknown client_id is 404.
//   - POST /login/oauth/access_token with client_id, client_secret, code
//     and redirect_uri (form or JSON) exchanges the code, once and within
//     ten minutes, for {access_token: "ghu_…", expires_in: 28800,
//     refresh_token: "ghr_…", token_type: "bearer", scope: ""}. A bad
//     code still answers 200, with {error: "bad_verification_code"}; a bad
//     secret answers {error: "incorrect_client_credentials"}. The answer
//     is JSON with Accept: application/json, a form otherwise.
//   - GET /api/v3/user with a user token returns the user.
//   - GET /api/v3/repos/{owner}/{repo} with a user token returns the
//     repository with the user's permissions, or 404 when they cannot
//     read it or the App is not installed on it.
//   - GET /api/v3/user/installations lists the App's installations with a
//     repository the user can access, and
//     GET /api/v3/user/installations/{id}/repositories those repositories,
//     each with the user's permissions {admin, maintain, push, triage,
//     pull}. A user can access a repository when it is a collaborator
//     (SetCollaborator) with a role other than "none": every repository of
//     the fake is private.
//
// A user token can never do more than both the user and the App may: it
// lists only repositories of the App's installations.

// oauthState is the fake's record of the web flow. It is guarded by
// Server.mu.
type oauthState struct {
	codes  map[string]*oauthCode
	tokens map[string]*userToken
}

type oauthCode struct {
	login, redirect string
	created         time.Time
}

type userToken struct {
	login   string
	expires time.Time
}

// userTokenTTL is the lifetime of an App user token.
const userTokenTTL = 8 * time.Hour

// ClientSecret returns the App's OAuth client secret.
func (s *Server) ClientSecret() string { return "fake-client-secret-" + strconv.FormatInt(s.appID, 10) }

// UserToken issues a user token for login without the web flow, for tests
// that need one directly.
func (s *Server) UserToken(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userID(login)
	return s.issueUserToken(login)
}

// oauthFlow returns the web flow's state, creating it on first use. The
// caller holds mu.
func (s *Server) oauthFlow() *oauthState {
	if s.oauth == nil {
		s.oauth = &oauthState{codes: map[string]*oauthCode{}, tokens: map[string]*userToken{}}
	}
	return s.oauth
}

// issueUserToken creates a user token for login. The caller holds mu.
func (s *Server) issueUserToken(login string) string {
	tok := "ghu_" + randomHex(18)
	s.oauthFlow().tokens[tok] = &userToken{login: login, expires: s.now().Add(userTokenTTL)}
	return tok
}

// oauthRoutes registers the REST routes of user tokens.
func (s *Server) oauthRoutes(mux *http.ServeMux, p func(method, path string) string) {
	mux.HandleFunc(p("GET", "/user"), s.userOnly(s.getUser))
	mux.HandleFunc(p("GET", "/user/installations"), s.userOnly(s.listUserInstallations))
	mux.HandleFunc(p("GET", "/user/installations/{id}/repositories"), s.userOnly(s.listUserInstallationRepos))
}

// serveOAuth serves the web side of the flow, under /login/oauth/.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/login/oauth/authorize" && r.Method == http.MethodGet:
		s.authorizePage(w, r)
	case r.URL.Path == "/login/oauth/authorize" && r.Method == http.MethodPost:
		s.authorize(w, r)
	case r.URL.Path == "/login/oauth/access_token" && r.Method == http.MethodPost:
		s.exchangeCode(w, r)
	default:
		http.NotFound(w, r)
	}
}

var authorizeTmpl = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize planbot</title></head>
<body><h1>Authorize planbot</h1>
<form method="post" action="/login/oauth/authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<input type="hidden" name="state" value="{{.State}}">
<label for="login">Username</label> <input id="login" name="login" value="{{.Login}}">
<button id="authorize" type="submit">Authorize</button>
</form></body></html>
`))

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = authorizeTmpl.Execute(w, map[string]string{
		"ClientID": q.Get("client_id"), "Redirect": q.Get("redirect_uri"), "State": q.Get("state"), "Login": q.Get("login"),
	})
}

// authorize is the person confirming the authorize page: it redirects to
// redirect_uri with a code and the state.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.ClientID() {
		http.NotFound(w, r)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	u, err := url.Parse(r.PostForm.Get("redirect_uri"))
	if login == "" || err != nil || u.Scheme == "" {
		http.Error(w, "The redirect_uri MUST match the registered callback URL for this application.", http.StatusBadRequest)
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	s.userID(login)
	s.oauthFlow().codes[code] = &oauthCode{login: s.logins[strings.ToLower(login)], redirect: u.String(), created: s.now()}
	s.mu.Unlock()
	redirectWithCode(w, r, u, code, r.PostForm.Get("state"))
}

// exchangeCode is POST /login/oauth/access_token.
func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request) {
	in := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if !decodeBody(w, r, &in) {
			return
		}
	} else if err := r.ParseForm(); err == nil {
		for k := range r.PostForm {
			in[k] = r.PostForm.Get(k)
		}
	}
	// oauth2 clients may send the client credentials as basic auth.
	if id, secret, ok := r.BasicAuth(); ok {
		in["client_id"], in["client_secret"] = id, secret
	}
	answer := func(v map[string]any) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			writeJSON(w, http.StatusOK, v)
			return
		}
		f := url.Values{}
		for k, x := range v {
			f.Set(k, strings.TrimSpace(strings.Trim(jsonScalar(x), `"`)))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(f.Encode()))
	}
	if in["client_id"] != s.ClientID() || in["client_secret"] != s.ClientSecret() {
		answer(map[string]any{"error": "incorrect_client_credentials", "error_description": "The client_id and/or client_secret passed are incorrect."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	flow := s.oauthFlow()
	c := flow.codes[in["code"]]
	delete(flow.codes, in["code"])
	if c == nil || s.now().Sub(c.created) > 10*time.Minute {
		answer(map[string]any{"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
		return
	}
	if ru := in["redirect_uri"]; ru != "" && ru != c.redirect && !strings.HasPrefix(c.redirect, ru) {
		answer(map[string]any{"error": "redirect_uri_mismatch", "error_description": "The redirect_uri MUST match the registered callback URL for this application."})
		return
	}
	answer(map[string]any{
		"access_token": s.issueUserToken(c.login), "expires_in": int(userTokenTTL / time.Second),
		"refresh_token": "ghr_" + randomHex(30), "refresh_token_expires_in": 15897600,
		"token_type": "bearer", "scope": "",
	})
}

func jsonScalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

const userLoginKey ctxKey = 2

// userOnly wraps a handler that needs a user token; the login is in the
// request context. An installation token is refused as GitHub does.
func (s *Server) userOnly(h http.HandlerFunc) http.HandlerFunc {
	return s.bearerAuth(h, func(r *http.Request, raw string) (context.Context, refusal) {
		ut := s.oauthFlow().tokens[raw]
		if _, isInstall := s.tokens[raw]; isInstall {
			return nil, refusal{http.StatusForbidden, "Resource not accessible by integration"}
		}
		if ut == nil || !s.now().Before(ut.expires) {
			return nil, refusal{http.StatusUnauthorized, msgBadCreds}
		}
		return contextWithLogin(r, ut.login), refusal{}
	})
}

// userOrRepoRoute serves a repository route to a user token with user,
// and to an installation token as repoRoute does with install.
func (s *Server) userOrRepoRoute(user http.HandlerFunc, install repoHandler) http.HandlerFunc {
	byInstall := s.repoRoute(install)
	byUser := s.userOnly(user)
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := bearer(r)
		s.mu.Lock()
		_, isUser := s.oauthFlow().tokens[raw]
		s.mu.Unlock()
		if isUser {
			byUser(w, r)
			return
		}
		byInstall(w, r)
	}
}

// getUserRepo is GET /repos/{owner}/{repo} for a user token.
func (s *Server) getUserRepo(w http.ResponseWriter, r *http.Request) {
	login := loginOf(r)
	full := strings.ToLower(r.PathValue("owner") + "/" + r.PathValue("repo"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.installationFor(full); in != nil {
		for _, j := range s.userRepos(in, login) {
			if strings.EqualFold(j["full_name"].(string), full) {
				writeJSON(w, http.StatusOK, j)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.userJSON(loginOf(r)))
}

// userRepos returns the repositories of an installation that login can
// access, with login's permissions. The caller holds mu.
func (s *Server) userRepos(in *installation, login string) []map[string]any {
	var out []map[string]any
	for _, full := range in.repos {
		rp := s.repos[strings.ToLower(full)]
		if rp == nil {
			continue
		}
		role, ok := s.collabs[strings.ToLower(rp.fullName())][strings.ToLower(login)]
		if !ok || role == "none" {
			continue
		}
		perm := legacyPermission(role)
		j := s.repoJSON(rp)
		j["permissions"] = map[string]bool{
			"admin":    role == "admin",
			"maintain": role == "admin" || role == "maintain",
			"push":     perm == "admin" || perm == "write",
			"triage":   perm == "admin" || perm == "write" || role == "triage",
			"pull":     true,
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) listUserInstallations(w http.ResponseWriter, r *http.Request) {
	login := loginOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	for _, id := range s.installIDs() {
		if len(s.userRepos(s.installs[id], login)) > 0 {
			list = append(list, s.installationJSON(s.installs[id]))
		}
	}
	lo, hi := paginate(w, r, len(list))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "installations": append([]any{}, list[lo:hi]...)})
}

func (s *Server) listUserInstallationRepos(w http.ResponseWriter, r *http.Request) {
	login := loginOf(r)
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installs[id]
	var repos []map[string]any
	if in != nil {
		repos = s.userRepos(in, login)
	}
	if len(repos) == 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	lo, hi := paginate(w, r, len(repos))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(repos), "repository_selection": "selected", "repositories": append([]map[string]any{}, repos[lo:hi]...)})
}

func contextWithLogin(r *http.Request, login string) context.Context {
	return context.WithValue(r.Context(), userLoginKey, login)
}

func loginOf(r *http.Request) string {
	login, _ := r.Context().Value(userLoginKey).(string)
	return login
}
