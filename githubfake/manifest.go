package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// The App manifest flow (GitHub reference §9.4), on the fake's web side
// and REST API:
//
//   - POST /settings/apps/new?state=S and
//     POST /organizations/{org}/settings/apps/new?state=S take a form with
//     "manifest" (JSON). Where GitHub shows a page on which the user
//     confirms, the fake confirms at once: it answers 302 to the manifest's
//     redirect_url with code and state.
//   - POST /api/v3/app-manifests/{code}/conversions needs no
//     authentication. A code converts once, within one hour; otherwise 404.
//     It answers 201 with the App: id, slug, node_id, owner, name,
//     description, external_url, html_url, created_at, updated_at,
//     permissions, events, client_id, client_secret, webhook_secret and pem.
//
// The App created is the fake's own (AppID, ClientID, ClientSecret,
// PrivateKeyPEM), so the credentials a setup writes work against the fake,
// the web flow's login included. The webhook secret is new each time.

// ManifestApp is an App created from a manifest.
type ManifestApp struct {
	// Org is the organization it was created for; empty for a personal
	// account.
	Org string
	// Manifest is the manifest as posted.
	Manifest map[string]any
	// Code is the code GitHub redirected with.
	Code string
	// Converted reports whether the code was converted.
	Converted bool
	// ClientSecret and WebhookSecret are the secrets the conversion
	// returned; ClientSecret is the fake App's (Server.ClientSecret).
	ClientSecret, WebhookSecret string

	created time.Time
}

// ManifestApps returns the Apps created from manifests so far.
func (s *Server) ManifestApps() []ManifestApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ManifestApp, 0, len(s.manifests))
	for _, m := range s.manifests {
		out = append(out, *m)
	}
	return out
}

// createFromManifest answers the form GitHub's "new App" page receives, as
// if the user had confirmed it.
func (s *Server) createFromManifest(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.PostForm.Get("manifest")), &m); err != nil {
		http.Error(w, "Invalid GitHub App configuration: the manifest is not JSON", http.StatusUnprocessableEntity)
		return
	}
	redirect, _ := m["redirect_url"].(string)
	hook, _ := m["hook_attributes"].(map[string]any)
	hookURL, _ := hook["url"].(string)
	appURL, _ := m["url"].(string)
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme == "" || hookURL == "" || appURL == "" {
		http.Error(w, "Invalid GitHub App configuration: url, hook_attributes.url and redirect_url are required", http.StatusUnprocessableEntity)
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	if s.manifests == nil {
		s.manifests = map[string]*ManifestApp{}
	}
	s.manifests[code] = &ManifestApp{Org: r.PathValue("org"), Manifest: m, Code: code, created: s.now()}
	s.mu.Unlock()
	redirectWithCode(w, r, u, code, r.URL.Query().Get("state"))
}

// redirectWithCode sends the browser back to u with code and, when there
// is one, state added to its query, as GitHub ends a web flow.
func redirectWithCode(w http.ResponseWriter, r *http.Request, u *url.URL, code, state string) {
	q := u.Query()
	q.Set("code", code)
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// convertManifest is POST /app-manifests/{code}/conversions.
func (s *Server) convertManifest(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.manifests[r.PathValue("code")]
	if m == nil || m.Converted || s.now().Sub(m.created) > time.Hour {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	m.Converted = true
	m.ClientSecret = s.ClientSecret()
	m.WebhookSecret = randomHex(20)
	app := s.appJSON()
	owner := s.userJSON("planbot-user")
	if m.Org != "" {
		owner = s.userJSON(m.Org)
		owner["type"] = "Organization"
	}
	app["owner"] = owner
	if name, ok := m.Manifest["name"].(string); ok && name != "" {
		app["name"] = name
	}
	app["description"], _ = m.Manifest["description"].(string)
	app["external_url"], _ = m.Manifest["url"].(string)
	app["permissions"] = m.Manifest["default_permissions"]
	app["events"] = m.Manifest["default_events"]
	app["installations_count"] = 0
	app["client_secret"] = m.ClientSecret
	app["webhook_secret"] = m.WebhookSecret
	app["pem"] = string(s.keyPM)
	writeJSON(w, http.StatusCreated, app)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
