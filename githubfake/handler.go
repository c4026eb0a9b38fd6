package githubfake

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// handler returns the root handler: request log, rate-limit headers,
// User-Agent check, then the API or git routes.
func (s *Server) handler() http.Handler {
	api := s.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		path, isAPI := apiPath(r.URL.Path)
		logged := string(body)
		if !isAPI {
			logged = "" // git pack data
		}
		used, now, fail := s.record(r.Method, path, r.URL.Query(), logged, isAPI)
		setRateHeaders(w.Header(), used, now, fail)

		if r.Header.Get("User-Agent") == "" {
			writeError(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.")
			return
		}
		if fail != nil {
			writeFailure(w, fail)
			return
		}
		s.dispatch(w, r, api, isAPI)
	})
}

// apiPath reports whether urlPath is under the REST API prefix and
// returns it without the prefix ("/" for the prefix itself); any other
// path is returned as it is.
func apiPath(urlPath string) (string, bool) {
	if urlPath != apiPrefix && !strings.HasPrefix(urlPath, apiPrefix+"/") {
		return urlPath, false
	}
	path := strings.TrimPrefix(urlPath, apiPrefix)
	if path == "" {
		path = "/"
	}
	return path, true
}

// record logs a request, counts it against the rate limit and takes the
// failure injected for it, if any: the next queued failure, else the first
// one queued for its method and path. It returns the requests used so far
// and the fake's time.
func (s *Server) record(method, path string, query url.Values, body string, isAPI bool) (int, time.Time, *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: method, Path: path, Query: query, Body: body})
	s.rateUsed++
	var fail *Failure
	if isAPI && len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		fail = &f
	}
	for i, rf := range s.failRoutes {
		if fail == nil && isAPI && rf.method == method && strings.EqualFold(rf.path, path) {
			fail = &rf.f
			s.failRoutes = append(s.failRoutes[:i:i], s.failRoutes[i+1:]...)
			break
		}
	}
	return s.rateUsed, s.now(), fail
}

// setRateHeaders sets GitHub's rate-limit and request headers for the
// used-th request at now; an injected failure may exhaust the limit or
// move its reset.
func setRateHeaders(h http.Header, used int, now time.Time, fail *Failure) {
	const limit = 5000
	reset := now.Truncate(time.Hour).Add(time.Hour).Unix()
	remaining := max(limit-used, 0)
	if fail != nil && fail.Exhausted {
		remaining = 0
	}
	if fail != nil && !fail.Reset.IsZero() {
		reset = fail.Reset.Unix()
	}
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Ratelimit-Used", strconv.Itoa(limit-remaining))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(reset, 10))
	h.Set("X-Ratelimit-Resource", "core")
	h.Set("X-Github-Media-Type", "github.v3; format=json")
	h.Set("X-Github-Request-Id", fmt.Sprintf("FAKE:%d", used))
}

// writeFailure answers with an injected failure.
func writeFailure(w http.ResponseWriter, fail *Failure) {
	if fail.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(fail.RetryAfter))
	}
	doc := fail.DocumentationURL
	if doc == "" {
		doc = docsURL
	}
	writeErrorDoc(w, fail.Status, fail.Message, doc)
}

// dispatch sends a request to the REST API, git over smart HTTP or the
// App manifest pages.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, api http.Handler, isAPI bool) {
	switch {
	case isAPI:
		api.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/login/oauth/"):
		s.serveOAuth(w, r)
	case strings.HasPrefix(r.URL.Path, "/git/"):
		s.serveGit(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/settings/apps/new":
		s.createFromManifest(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/organizations/") && strings.HasSuffix(r.URL.Path, "/settings/apps/new"):
		r.SetPathValue("org", strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/organizations/"), "/settings/apps/new"))
		s.createFromManifest(w, r)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}
