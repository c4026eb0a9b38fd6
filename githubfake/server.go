package githubfake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiPrefix is where the REST API is mounted.
const apiPrefix = "/api/v3"

// docsURL is the documentation_url of error bodies.
const docsURL = "https://docs.github.com/rest"

// Server is a fake GitHub. Create it with New.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	root  string // directory of the bare repositories
	key   *rsa.PrivateKey
	keyPM []byte
	appID int64

	mu sync.Mutex // mu guards the fields below.

	offset       time.Duration // added to the wall clock, see Advance
	nextID       int64
	users        map[string]int64 // lower login -> id
	logins       map[string]string
	installs     map[int64]*installation
	tokens       map[string]*token
	repos        map[string]*repo // lower full name -> repo
	comments     map[int64]*comment
	history      []CommentWrite
	reactions    []Reaction
	collabs      map[string]map[string]string // lower repo -> lower login -> role
	teams        map[string]map[string]teamMember
	requests     []Request
	rateUsed     int
	failNext     []Failure
	failRoutes   []routeFailure
	deliveries   []Delivery
	manifests    map[string]*ManifestApp // by code
	checkRuns    []*checkRun             // oldest first
	measuredSize bool
	// events are the webhooks GitHub would send for the App's writes,
	// and commitComments the comments on commits (see gitdata.go).
	events         []Event
	commitComments []CommitComment
	oauth          *oauthState // the App user tokens' web flow, see oauth.go
}

type installation struct {
	id    int64
	repos []string // full names as given
}

type token struct {
	install int64
	expires time.Time
}

type teamMember struct {
	role, state string
}

// Request is one HTTP request the fake received.
type Request struct {
	Method string
	// Path is the URL path; REST paths have the /api/v3 prefix removed, git
	// paths start with /git/.
	Path  string
	Query url.Values
	Body  string
}

// Failure is a response the fake gives instead of handling a request; see
// FailNext.
type Failure struct {
	// Status is the HTTP status, typically 403 or 429.
	Status int
	// Message is the body's message.
	Message string
	// DocumentationURL is the body's documentation_url; GitHub's secondary
	// limit responses use one ending in "#secondary-rate-limits".
	DocumentationURL string
	// RetryAfter, when positive, is sent as the retry-after header.
	RetryAfter int
	// Exhausted reports whether x-ratelimit-remaining is sent as 0.
	Exhausted bool
	// Reset, when set, is sent as x-ratelimit-reset instead of the start
	// of the fake's next hour.
	Reset time.Time
}

// RateLimited returns the answer GitHub gives a request of installation
// id once its primary rate limit is used up until reset: 403 with
// x-ratelimit-remaining 0 and x-ratelimit-reset at reset, and GitHub's
// message.
func RateLimited(id int64, reset time.Time) Failure {
	return Failure{
		Status:           http.StatusForbidden,
		Message:          fmt.Sprintf("API rate limit exceeded for installation ID %d.", id),
		DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
		Exhausted:        true,
		Reset:            reset,
	}
}

// routeFailure is a Failure for the next request of one route.
type routeFailure struct {
	method, path string
	f            Failure
}

// New starts a fake GitHub with one App and no repositories. The server
// and its temporary directory are removed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("githubfake: git not found: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("githubfake: generating key: %v", err)
	}
	s := &Server{
		t:        t,
		root:     t.TempDir(),
		key:      key,
		keyPM:    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		appID:    4242,
		nextID:   1000,
		users:    map[string]int64{},
		logins:   map[string]string{},
		installs: map[int64]*installation{},
		tokens:   map[string]*token{},
		repos:    map[string]*repo{},
		comments: map[int64]*comment{},
		collabs:  map[string]map[string]string{},
		teams:    map[string]map[string]teamMember{},
	}
	s.srv = httptest.NewServer(s.handler())
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the server's root URL, without a trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// APIURL returns the REST API base URL, "<server>/api/v3/".
func (s *Server) APIURL() string { return s.srv.URL + apiPrefix + "/" }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AppID returns the App's id.
func (s *Server) AppID() int64 { return s.appID }

// ClientID returns the App's client id, which is also accepted as JWT iss.
func (s *Server) ClientID() string { return "Iv1.fakeplanbot0001" }

// AppSlug returns the App's slug; its comments are by AppSlug()+"[bot]".
func (s *Server) AppSlug() string { return "planbot" }

// BotLogin returns the login the App acts as, "planbot[bot]".
func (s *Server) BotLogin() string { return s.AppSlug() + "[bot]" }

// PrivateKeyPEM returns the App's private key in PKCS#1 PEM form.
func (s *Server) PrivateKeyPEM() []byte { return bytes.Clone(s.keyPM) }

// WritePrivateKey writes the App's private key to a file in a temporary
// directory and returns its path.
func (s *Server) WritePrivateKey() string {
	s.t.Helper()
	p := filepath.Join(s.t.TempDir(), "app.pem")
	if err := os.WriteFile(p, s.keyPM, 0o600); err != nil {
		s.t.Fatalf("githubfake: %v", err)
	}
	return p
}

// Advance moves the fake's clock forward, for example to expire tokens.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// now returns the fake's time. The caller holds mu.
func (s *Server) now() time.Time { return time.Now().Add(s.offset).UTC().Truncate(time.Second) }

// Now returns the fake's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// SetMeasuredBodyLimit makes comment bodies fail only above 262144 UTF-8
// bytes, as GitHub has been measured to do, instead of above 65536 runes.
func (s *Server) SetMeasuredBodyLimit(measured bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.measuredSize = measured
}

// FailNext makes the next REST requests fail with the given responses, one
// per request, for example a secondary rate limit.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, f...)
}

// FailRoute makes the next requests of one route fail with the given
// responses, one per request; other routes are served as usual. path is
// relative to the REST root, as in Request.Path ("/repos/acme/infra/pulls/1"),
// and matched case-insensitively.
func (s *Server) FailRoute(method, path string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range f {
		s.failRoutes = append(s.failRoutes, routeFailure{method: method, path: path, f: x})
	}
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// newID returns a fresh id. The caller holds mu.
func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// userID returns the id of login, assigning one on first use. The caller
// holds mu.
func (s *Server) userID(login string) int64 {
	k := strings.ToLower(login)
	if id, ok := s.users[k]; ok {
		return id
	}
	id := int64(100 + len(s.users))
	s.users[k] = id
	s.logins[k] = login
	return id
}

// userJSON returns GitHub's simple-user object. The caller holds mu.
func (s *Server) userJSON(login string) map[string]any {
	id := s.userID(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"login":      login,
		"id":         id,
		"node_id":    nodeID("U_kgDO", id),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(id, 10) + "?v=4",
		"url":        s.APIURL() + "users/" + login,
		"html_url":   s.srv.URL + "/" + login,
		"type":       typ,
		"site_admin": false,
	}
}

// appJSON returns the App object. The caller holds mu.
func (s *Server) appJSON() map[string]any {
	return map[string]any{
		"id":          s.appID,
		"slug":        s.AppSlug(),
		"client_id":   s.ClientID(),
		"node_id":     nodeID("A_kwHO", s.appID),
		"name":        "planbot",
		"owner":       s.userJSON("planbot-org"),
		"description": "Plans Terraform and Kustomize projects of pull requests.",
		"html_url":    s.srv.URL + "/apps/planbot",
		"permissions": map[string]string{"contents": "write", "pull_requests": "write", "issues": "write", "statuses": "write", "metadata": "read", "members": "read", "checks": "write"},
		"events":      []string{"pull_request", "pull_request_review", "issue_comment"},
		"created_at":  "2026-01-01T00:00:00Z",
		"updated_at":  "2026-01-01T00:00:00Z",
	}
}

func nodeID(prefix string, id int64) string {
	return prefix + strings.TrimRight(base64URL(strconv.FormatInt(id, 10)), "=")
}

// ctxKey is the type of request context keys.
type ctxKey int

// routes returns the REST API handler.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := func(method, path string) string { return method + " " + apiPrefix + path }

	// App (JWT) routes.
	mux.HandleFunc(p("GET", "/app"), s.jwtOnly(s.getApp))
	mux.HandleFunc(p("POST", "/app/installations/{id}/access_tokens"), s.jwtOnly(s.createToken))
	mux.HandleFunc(p("GET", "/app/installations"), s.jwtOnly(s.listInstallations))
	mux.HandleFunc(p("GET", "/app/installations/{id}"), s.jwtOnly(s.getInstallation))
	mux.HandleFunc(p("GET", "/repos/{owner}/{repo}/installation"), s.jwtOnly(s.getRepoInstallation))
	mux.HandleFunc(p("GET", "/app/hook/deliveries"), s.jwtOnly(s.listHookDeliveries))
	mux.HandleFunc(p("POST", "/app/hook/deliveries/{id}/attempts"), s.jwtOnly(s.redeliverHookDelivery))
	// The manifest conversion needs no authentication: the code is the
	// credential.
	mux.HandleFunc(p("POST", "/app-manifests/{code}/conversions"), s.convertManifest)

	// Installation routes.
	mux.HandleFunc(p("GET", "/installation/repositories"), s.tokenOnly(s.listInstallationRepos))
	mux.HandleFunc(p("DELETE", "/installation/token"), s.tokenOnly(s.revokeToken))
	mux.HandleFunc(p("GET", "/orgs/{org}/teams/{team}/memberships/{user}"), s.tokenOnly(s.getTeamMembership))

	s.oauthRoutes(mux, p)

	r := func(method, path string, h repoHandler) {
		mux.HandleFunc(p(method, "/repos/{owner}/{repo}"+path), s.repoRoute(h))
	}
	mux.HandleFunc(p("GET", "/repos/{owner}/{repo}"), s.userOrRepoRoute(s.getUserRepo, s.getRepo))
	r("GET", "/pulls/{n}", s.getPull)
	r("GET", "/pulls/{n}/files", s.listFiles)
	r("GET", "/pulls/{n}/reviews", s.listReviews)
	r("PUT", "/pulls/{n}/merge", s.mergePull)
	r("GET", "/pulls/{n}/merge", s.checkMerged)
	// GET issues/{n}/comments and issues/comments/{id} overlap for
	// ServeMux, so one route dispatches both.
	getComment := getFound(s.commentFromPath, s.commentJSON)
	r("GET", "/issues/{a}/{b}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		switch a, b := r.PathValue("a"), r.PathValue("b"); {
		case a == "comments":
			r.SetPathValue("id", b)
			getComment(w, r, rp)
		case b == "comments":
			r.SetPathValue("n", a)
			s.listComments(w, r, rp)
		default:
			writeError(w, http.StatusNotFound, "Not Found")
		}
	})
	r("POST", "/issues/{n}/comments", s.createComment)
	r("GET", "/issues", s.listIssues)
	r("POST", "/issues", s.createIssue)
	r("GET", "/issues/{n}", s.getIssue)
	r("PATCH", "/issues/{n}", s.updateIssue)
	r("POST", "/labels", s.createLabel)
	r("GET", "/labels/{name}", s.getLabel)
	r("PATCH", "/issues/comments/{id}", s.editComment)
	r("DELETE", "/issues/comments/{id}", s.deleteComment)
	r("POST", "/issues/comments/{id}/reactions", s.createReaction)
	r("GET", "/issues/comments/{id}/reactions", s.listReactions)
	r("POST", "/statuses/{sha}", s.createStatus)
	r("GET", "/commits/{ref}/statuses", s.listStatuses)
	r("GET", "/commits/{ref}/status", s.combinedStatus)
	r("GET", "/collaborators/{user}/permission", s.getPermission)
	r("GET", "/contents/{path...}", s.getContents)
	r("GET", "/git/ref/{ref...}", s.getRef)
	r("DELETE", "/git/refs/{ref...}", s.deleteRef)
	s.releaseRoutes(r)
	s.checkRoutes(r)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// getFound is the GET handler of one item that find looks up by the
// request's path values; find writes the 404 when there is none.
func getFound[T any](find func(http.ResponseWriter, *http.Request, *repo) *T, toJSON func(*T) map[string]any) repoHandler {
	return func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if v := find(w, r, rp); v != nil {
			writeJSON(w, http.StatusOK, toJSON(v))
		}
	}
}

// writeError writes GitHub's basic-error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorDoc(w, status, msg, docsURL)
}

func writeErrorDoc(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}

// writeValidation writes GitHub's 422 validation-error body.
func writeValidation(w http.ResponseWriter, doc string, errs ...map[string]any) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            errs,
		"documentation_url": doc,
		"status":            "422",
	})
}

// decodeBody decodes the JSON request body into v; an empty body leaves v
// unchanged. It writes a 400 and reports false when the body is invalid.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// paginate slices n items for the request's page and per_page and sets the
// Link header. It returns the half-open range of the page.
func paginate(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max((n+per-1)/per, 1)
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	if last > 1 {
		link := func(p int, rel string) string {
			u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
			qq := r.URL.Query()
			qq.Set("page", strconv.Itoa(p))
			u.RawQuery = qq.Encode()
			return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
		}
		var links []string
		if page > 1 {
			links = append(links, link(min(page-1, last), "prev"))
		}
		if page < last {
			links = append(links, link(page+1, "next"), link(last, "last"))
		}
		if page > 1 {
			links = append(links, link(1, "first"))
		}
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}

// page paginates list as paginate does and returns the JSON of the page's
// items: an empty array, never null.
func page[T, J any](w http.ResponseWriter, r *http.Request, list []T, toJSON func(T) J) []any {
	lo, hi := paginate(w, r, len(list))
	out := []any{}
	for _, v := range list[lo:hi] {
		out = append(out, toJSON(v))
	}
	return out
}

// filter returns the items of list that keep accepts, in order; nil when
// there are none.
func filter[T any](list []T, keep func(T) bool) []T {
	var out []T
	for _, v := range list {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}
