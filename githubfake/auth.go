package githubfake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

func base64URL(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }

// The 401 messages GitHub gives for bad App JWTs.
const (
	msgJWTDecode = "A JSON web token could not be decoded"
	msgIat       = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgExp       = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgExpFar    = "'Expiration time' claim ('exp') is too far in the future"
	msgBadCreds  = "Bad credentials"
	msgNeedAuth  = "Requires authentication"
)

// AddInstallation installs the App on an account with access to the given
// repositories ("owner/name"). Calling it again adds repositories.
func (s *Server) AddInstallation(id int64, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installs[id]
	if in == nil {
		in = &installation{id: id}
		s.installs[id] = in
	}
	in.repos = append(in.repos, repos...)
}

// InstallationToken issues an installation token without going through the
// REST API, for tests that need one directly (for example to clone).
func (s *Server) InstallationToken(id int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installs[id] == nil {
		s.t.Fatalf("githubfake: no installation %d", id)
	}
	tok, _ := s.issueToken(id)
	return tok
}

// issueToken creates a token for installation id. The caller holds mu.
func (s *Server) issueToken(id int64) (string, time.Time) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 36)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	tok := "ghs_" + string(b)
	exp := s.now().Add(time.Hour)
	s.tokens[tok] = &token{install: id, expires: exp}
	return tok, exp
}

// installationFor returns the installation with access to repo (full
// name), or nil. The caller holds mu.
func (s *Server) installationFor(full string) *installation {
	for _, id := range s.installIDs() {
		if s.installs[id].has(full) {
			return s.installs[id]
		}
	}
	return nil
}

func (in *installation) has(full string) bool {
	for _, r := range in.repos {
		if strings.EqualFold(r, full) {
			return true
		}
	}
	return false
}

// installIDs returns the ids of the installations in ascending order.
// The caller holds mu.
func (s *Server) installIDs() []int64 {
	return slices.Sorted(maps.Keys(s.installs))
}

// bearer returns the credential of an Authorization header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "bearer ", "token ", "Token "} {
		if strings.HasPrefix(h, p) {
			return strings.TrimSpace(h[len(p):]), true
		}
	}
	return "", false
}

// checkJWT validates an App JWT and returns the 401 message when it is not
// acceptable. The caller holds mu.
func (s *Server) checkJWT(raw string) string {
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	if err != nil {
		return msgJWTDecode
	}
	now := s.now().Unix()
	num := func(k string) (int64, bool) {
		n, ok := claims[k].(json.Number)
		if !ok {
			return 0, false
		}
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		return int64(f), err == nil
	}
	iat, ok := num("iat")
	if !ok || iat > now+1 {
		return msgIat
	}
	exp, ok := num("exp")
	if !ok || exp <= now {
		return msgExp
	}
	if exp > now+600 {
		return msgExpFar
	}
	switch iss := claims["iss"].(type) {
	case json.Number:
		if iss.String() == strconv.FormatInt(s.appID, 10) {
			return ""
		}
	case string:
		if iss == strconv.FormatInt(s.appID, 10) || iss == s.ClientID() {
			return ""
		}
	}
	return "Integration not found"
}

// refusal is the error answer to a request's credential: its status and
// message. The zero refusal lets the request through.
type refusal struct {
	status int
	msg    string
}

// credentialCheck decides on a request's bearer credential raw. It is
// called with mu held and returns the context the handler runs with, or a
// refusal.
type credentialCheck func(r *http.Request, raw string) (context.Context, refusal)

// bearerAuth wraps a handler that needs a bearer credential: a request
// without one gets 401 "Requires authentication", and check decides on
// the others.
func (s *Server) bearerAuth(h http.HandlerFunc, check credentialCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, msgNeedAuth)
			return
		}
		s.mu.Lock()
		ctx, no := check(r, raw)
		s.mu.Unlock()
		if no.msg != "" {
			writeError(w, no.status, no.msg)
			return
		}
		h(w, r.WithContext(ctx))
	}
}

// jwtOnly wraps a handler that needs an App JWT.
func (s *Server) jwtOnly(h http.HandlerFunc) http.HandlerFunc {
	return s.bearerAuth(h, func(r *http.Request, raw string) (context.Context, refusal) {
		return r.Context(), refusal{http.StatusUnauthorized, s.checkJWT(raw)}
	})
}

const installKey ctxKey = 1

// tokenOnly wraps a handler that needs an installation token; the
// installation id is in the request context.
func (s *Server) tokenOnly(h http.HandlerFunc) http.HandlerFunc {
	return s.bearerAuth(h, func(r *http.Request, raw string) (context.Context, refusal) {
		tok := s.tokens[raw]
		if tok == nil || !s.now().Before(tok.expires) {
			return nil, refusal{http.StatusUnauthorized, msgBadCreds}
		}
		return context.WithValue(r.Context(), installKey, tok.install), refusal{}
	})
}

// repoHandler handles a route under /repos/{owner}/{repo}. It is called
// with mu held.
type repoHandler func(w http.ResponseWriter, r *http.Request, rp *repo)

// repoRoute wraps a repoHandler: it needs an installation token whose
// installation includes the repository, and holds mu while h runs.
func (s *Server) repoRoute(h repoHandler) http.HandlerFunc {
	return s.tokenOnly(func(w http.ResponseWriter, r *http.Request) {
		id := r.Context().Value(installKey).(int64)
		s.mu.Lock()
		defer s.mu.Unlock()
		rp := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
		in := s.installs[id]
		if rp == nil || in == nil || !in.has(rp.fullName()) {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r, rp)
	})
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.appJSON())
}

// installationJSON returns the installation object. The caller holds mu.
func (s *Server) installationJSON(in *installation) map[string]any {
	account := ""
	if len(in.repos) > 0 {
		account, _, _ = strings.Cut(in.repos[0], "/")
	}
	return map[string]any{
		"id":                   in.id,
		"node_id":              nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", in.id),
		"account":              s.userJSON(account),
		"repository_selection": "selected",
		"access_tokens_url":    s.APIURL() + "app/installations/" + strconv.FormatInt(in.id, 10) + "/access_tokens",
		"app_id":               s.appID,
		"app_slug":             s.AppSlug(),
		"target_id":            s.userID(account),
		"target_type":          "Organization",
		"permissions":          s.appJSON()["permissions"],
		"events":               s.appJSON()["events"],
		"suspended_at":         nil,
		"created_at":           "2026-01-01T00:00:00Z",
		"updated_at":           "2026-01-01T00:00:00Z",
	}
}

// installFromPath returns the installation named by the {id} path value,
// or writes 404 and returns nil. The caller holds mu.
func (s *Server) installFromPath(w http.ResponseWriter, r *http.Request) *installation {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	in := s.installs[id]
	if in == nil {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return in
}

func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.installFromPath(w, r); in != nil {
		writeJSON(w, http.StatusOK, s.installationJSON(in))
	}
}

func (s *Server) getRepoInstallation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationFor(r.PathValue("owner") + "/" + r.PathValue("repo"))
	if in == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Repositories []string `json:"repositories"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installFromPath(w, r)
	if in == nil {
		return
	}
	tok, exp := s.issueToken(in.id)
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.Format(time.RFC3339),
		"permissions":          s.appJSON()["permissions"],
		"repository_selection": "selected",
	})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	raw, _ := bearer(r)
	s.mu.Lock()
	delete(s.tokens, raw)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listInstallationRepos(w http.ResponseWriter, r *http.Request) {
	id := r.Context().Value(installKey).(int64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	for _, full := range s.installs[id].repos {
		if rp := s.repos[strings.ToLower(full)]; rp != nil {
			list = append(list, s.repoJSON(rp))
		}
	}
	lo, hi := paginate(w, r, len(list))
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "repository_selection": "selected", "repositories": append([]any{}, list[lo:hi]...)})
}
