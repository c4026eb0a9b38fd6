// Package web is planbot's web page for the people who run it: the open
// pull requests planbot planned, their plans, approvals, jobs and live
// logs, the project locks, the audit log and the server's health.
//
// The model: pages are rendered on the server with html/template from
// embedded files; the only script follows a live log over Server-Sent
// Events. Nothing is shown without a GitHub login (the App's own OAuth
// web flow), and what a person sees is what GitHub lets them see: a
// repository's data only with read access to it, checked with their own
// token and cached briefly; releasing a lock needs write access. The
// session is a sealed cookie (see sealer); every POST carries a CSRF
// token derived from it.
package web

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

//go:embed templates static
var files embed.FS

// Handler serves the web page. Set its fields, then call Init.
type Handler struct {
	// ClientID and ClientSecret are the App's OAuth credentials; the
	// secret also keys the session cookies.
	ClientID     string
	ClientSecret []byte
	// WebURL is GitHub's web root for the authorize step
	// ("https://github.com/"), APIURL its REST root.
	WebURL, APIURL string
	// ExternalURL is the page's own address as browsers reach it, such as
	// "https://planbot.example.com"; the OAuth callback is under it.
	ExternalURL string

	Plans  Plans
	Locks  Locks
	Audit  AuditLog
	Jobs   Jobs
	Logs   Logs
	Health Health
	// GitHub returns the App's client for an installation: the pull
	// request, its approvals, and the comment an unlock posts.
	GitHub func(installation int64) GitHub
	// Client makes the requests to GitHub of the login and of the access
	// checks.
	Client *http.Client
	// Info describes the server on the health page.
	Info   Info
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LivePoll is how often a live log reads the store again; 0 means
	// half a second.
	LivePoll time.Duration

	sealer *sealer
	oauth  *oauth2.Config
	pages  pages
	mux    *http.ServeMux
	// mu guards access, the cache of what each session may see.
	mu     sync.Mutex
	access map[string]cachedAccess
}

// Info describes the running server.
type Info struct {
	Version string
	Started time.Time
	Workers int
	Sandbox bool
	// DriftPass names the drift passes in the store.
	DriftPass string
}

// Init checks the configuration and prepares the handler.
func (h *Handler) Init() error {
	if h.ClientID == "" {
		return errors.New("web: the App's client id is required")
	}
	if h.ExternalURL == "" {
		return errors.New("web: the external URL is required for the OAuth callback")
	}
	h.ExternalURL = strings.TrimRight(h.ExternalURL, "/")
	s, err := newSealer(h.ClientSecret)
	if err != nil {
		return err
	}
	h.sealer = s
	web := strings.TrimRight(h.WebURL, "/") + "/"
	h.oauth = &oauth2.Config{
		ClientID: h.ClientID, ClientSecret: string(h.ClientSecret), RedirectURL: h.ExternalURL + "/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: web + "login/oauth/authorize", TokenURL: web + "login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
	}
	if h.pages, err = parsePages(); err != nil {
		return err
	}
	if h.Client == nil {
		h.Client = http.DefaultClient
	}
	h.access = map[string]cachedAccess{}
	h.mux = h.routes()
	return nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// routes returns the page's routes.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /static/{file}", http.FileServerFS(files))
	mux.HandleFunc("GET /login", h.login)
	mux.HandleFunc("GET /auth/callback", h.callback)
	mux.HandleFunc("POST /logout", h.authed(h.logout))
	mux.HandleFunc("GET /{$}", h.authed(h.home))
	mux.HandleFunc("GET /{owner}/{repo}/pull/{n}", h.authed(h.pull))
	mux.HandleFunc("GET /{owner}/{repo}/pull/{n}/runs/{run}", h.authed(h.runPage))
	mux.HandleFunc("GET /{owner}/{repo}/pull/{n}/runs/{run}/events", h.authed(h.runEvents))
	mux.HandleFunc("GET /locks", h.authed(h.locks))
	mux.HandleFunc("POST /locks/release", h.authed(h.release))
	mux.HandleFunc("GET /audit", h.authed(h.audit))
	mux.HandleFunc("GET /audit/export", h.authed(h.auditExport))
	mux.HandleFunc("GET /health", h.authed(h.health))
	return mux
}

// ServeHTTP serves the page with its security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// request is an authenticated request: its session and what the user
// may see.
type request struct {
	*http.Request
	s      session
	access access
	csrf   string
}

// authed wraps a page that needs a login. Without a valid session a GET
// is sent to log in, anything else refused; a POST also needs the
// session's CSRF token.
func (h *Handler) authed(page func(w http.ResponseWriter, r *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.session(r)
		if !ok {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
				http.Redirect(w, r, "/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "Log in first.")
			return
		}
		if r.Method == http.MethodPost && !h.sealer.validCSRF(s.ID, r.PostFormValue("csrf")) {
			h.fail(w, r, http.StatusForbidden, "The form's CSRF token is missing or wrong: reload the page and try again.")
			return
		}
		acc, err := h.accessOf(r.Context(), s)
		if err != nil {
			h.Logger.Warn("web: reading the user's repositories from GitHub", "user", s.Login, "err", err)
			if errors.Is(err, errTokenRevoked) {
				http.SetCookie(w, h.clearCookie(r, sessionCookie))
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusBadGateway, "GitHub could not tell which repositories you can see; try again shortly.")
			return
		}
		page(w, &request{Request: r, s: s, access: acc, csrf: h.sealer.csrfToken(s.ID)})
	}
}

// ctx returns the request's context.
func (r *request) ctx() context.Context { return r.Context() }
