package githubfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/githubfake"
)

// appJWT returns a valid App JWT for s.
func appJWT(t *testing.T, s *githubfake.Server) string {
	now := time.Now().Unix()
	return signJWT(t, s, jwt.MapClaims{"iat": now - 60, "exp": now + 540, "iss": s.AppID()})
}

// rawJSON sends a request and decodes the JSON body into v (when not nil).
func rawJSON(t *testing.T, method, url, auth string, v any) *http.Response {
	t.Helper()
	resp, b := send(t, method, url, auth, nil)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
	return resp
}

// item is the part of a hook-delivery-item the tests compare.
type item struct {
	GUID           string
	Redelivery     bool
	Status         string
	StatusCode     int
	Event          string
	Action         string
	InstallationID int64
}

func itemOf(d *github.HookDelivery) item {
	return item{d.GetGUID(), d.GetRedelivery(), d.GetStatus(), d.GetStatusCode(), d.GetEvent(), d.GetAction(), d.GetInstallationID()}
}

func TestHookDeliveries(t *testing.T) {
	s, _ := setup(t)
	s.Commit(repoName, "feature", map[string]string{"a.tf": "a\n"}, nil, "a")
	pr := s.OpenPR(repoName, "feature", "main", "alice", "A")

	hook := startHook(t)
	closedURL := "http://" + githubfake.FreeAddr(t) + "/webhook"

	ctx := t.Context()
	payload := s.PullRequestEvent("opened", repoName, pr.Number)
	if _, _, err := s.Deliver(ctx, closedURL, "s3cret", "pull_request", payload); err == nil {
		t.Fatal("delivery to a closed port succeeded")
	}
	closedGUID := s.Deliveries()[0].ID
	resp, failedGUID, err := s.Deliver(ctx, hook.url, "s3cret", "pull_request", payload)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("deliver: %v, %v", resp, err)
	}
	<-hook.got

	api := s.APIURL() + "app/hook/deliveries"
	if resp := rawJSON(t, "GET", api, "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("list without a JWT: status %d, want 401", resp.StatusCode)
	}
	var list []*github.HookDelivery
	rawJSON(t, "GET", api, appJWT(t, s), &list)
	var items []item
	for _, d := range list {
		items = append(items, itemOf(d))
		if d.GetDeliveredAt().IsZero() || d.GetID() == 0 || d.RepositoryID == nil {
			t.Errorf("item %+v lacks id, delivered_at or repository_id", d)
		}
	}
	want := []item{
		{GUID: failedGUID, Status: "Invalid HTTP Response: 503", StatusCode: 503, Event: "pull_request", Action: "opened", InstallationID: installID},
		{GUID: closedGUID, Status: "failed to connect to host", StatusCode: 0, Event: "pull_request", Action: "opened", InstallationID: installID},
	}
	if diff := cmp.Diff(items, want); diff != "" {
		t.Fatalf("deliveries, newest first (-got +want):\n%s", diff)
	}

	hook.accept.Store(true)
	if resp := rawJSON(t, "POST", api+"/"+strconv.FormatInt(list[0].GetID(), 10)+"/attempts", appJWT(t, s), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("redeliver: status %d, want 202", resp.StatusCode)
	}
	// The redelivery was sent before the 202.
	select {
	case g := <-hook.got:
		if g.id != failedGUID || string(g.payload) != string(payload) || g.sig != githubfake.Sign([]byte("s3cret"), payload) {
			t.Errorf("redelivery = id %s sig %s, want the same GUID, payload and signature", g.id, g.sig)
		}
	default:
		t.Fatal("the redelivery was not sent when the 202 was answered")
	}
	if resp := rawJSON(t, "POST", api+"/999999/attempts", appJWT(t, s), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("redeliver unknown id: status %d, want 404", resp.StatusCode)
	}

	// Cursor pagination, one per page, follows the Link header.
	guids, redelivered := pageDeliveries(t, api+"?per_page=1", appJWT(t, s))
	if diff := cmp.Diff(guids, []string{failedGUID, failedGUID, closedGUID}); diff != "" {
		t.Errorf("GUIDs over pages (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(redelivered, []bool{true, false, false}); diff != "" {
		t.Errorf("redelivery flags (-got +want):\n%s", diff)
	}

	var failures []*github.HookDelivery
	rawJSON(t, "GET", api+"?status=failure", appJWT(t, s), &failures)
	if len(failures) != 2 {
		t.Errorf("status=failure lists %d attempts, want 2", len(failures))
	}
}

// hook is a webhook receiver that answers 503 until it is told to accept.
type hook struct {
	url    string
	accept atomic.Bool
	got    chan hookRequest
}

// hookRequest is a delivery the hook received.
type hookRequest struct {
	id, sig string
	payload []byte
}

func startHook(t *testing.T) *hook {
	h := &hook{got: make(chan hookRequest, 10)}
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.got <- hookRequest{r.Header.Get("X-GitHub-Delivery"), r.Header.Get("X-Hub-Signature-256"), b}
		if h.accept.Load() {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	ln := newListener(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.url = "http://" + ln.Addr().String() + "/webhook"
	return h
}

// pageDeliveries lists hook deliveries one per page from url, following
// the Link header, and returns their GUIDs and redelivery flags in order.
func pageDeliveries(t *testing.T, url, jwt string) (guids []string, redelivered []bool) {
	t.Helper()
	next := url
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var page []*github.HookDelivery
		resp := rawJSON(t, "GET", next, jwt, &page)
		if len(page) != 1 {
			t.Fatalf("page %d has %d items, want 1", pages, len(page))
		}
		guids = append(guids, page[0].GetGUID())
		redelivered = append(redelivered, page[0].GetRedelivery())
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = nextLink(t, l)
		}
	}
	return guids, redelivered
}

// nextLink returns the rel="next" URL of a Link header, checking that it
// carries a cursor.
func nextLink(t *testing.T, link string) string {
	t.Helper()
	m := regexp.MustCompile(`<([^>]+)>; rel="next"`).FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("Link %q has no next", link)
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Query().Get("cursor") == "" {
		t.Fatalf("next link %q has no cursor", m[1])
	}
	return m[1]
}

func TestCaptured(t *testing.T) {
	got := githubfake.Captured()
	for _, name := range []string{"pull_request.opened", "pull_request.synchronize", "issue_comment.created.with-installation", "pull_request_review.submitted"} {
		var m struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(got[name], &m); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := strings.Split(name, ".")[1]; m.Action != want {
			t.Errorf("%s: action %q, want %q", name, m.Action, want)
		}
	}
	t.Logf("%d captured payloads", len(got))
}
