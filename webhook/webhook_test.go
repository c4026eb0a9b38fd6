package webhook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite"
)

const secret = "It's a Secret to Everybody"

// sign returns GitHub's X-Hub-Signature-256 of body under secret.
func sign(body []byte) string { return githubfake.Sign([]byte(secret), body) }

// testLogger returns a logger that writes through t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// The repositories of the payloads: the handlers of the tests allow
// testRepo only.
const (
	testRepo  = "acme/infra"
	otherRepo = "evil/repo"
)

// events builds webhook payloads the way GitHub sends them: githubfake
// patches its captured examples (githubfake/testdata/webhooks) to the state
// of a fake, where alice opened pull request #1 of testRepo and of
// otherRepo, both repositories of installation 1.
type events struct{ *githubfake.Server }

func newEvents(t testing.TB) events {
	t.Helper()
	gh := githubfake.New(t)
	for _, repo := range []string{testRepo, otherRepo} {
		gh.CreateRepo(repo, map[string]string{"main.tf": "# base\n"})
		gh.AddInstallation(1, repo)
		gh.Commit(repo, "change", map[string]string{"main.tf": "# change\n"}, nil, "change")
		gh.OpenPR(repo, "change", "main", "alice", "Change")
	}
	return events{gh}
}

// pr returns a pull_request payload of pull request #1 of repo.
func (e events) pr(action, repo string) []byte { return e.PullRequestEvent(action, repo, 1) }

// comment returns the issue_comment payload of a new comment of user on
// pull request #1 of testRepo; a login ending in [bot] comments as an App.
func (e events) comment(user, body string) []byte {
	if strings.HasSuffix(user, "[bot]") {
		return e.IssueCommentEvent(testRepo, 1, githubfake.Comment{ID: 1, User: user, Body: body, ViaApp: true})
	}
	return e.IssueCommentEvent(testRepo, 1, e.AddComment(testRepo, 1, user, body))
}

func TestValidSignatureOfficialVector(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if !ValidSignature([]byte(secret), []byte("Hello, World!"), want) {
		t.Error("GitHub's documented test vector does not verify")
	}
	for _, h := range []string{"", "sha256=", "sha1=757107ea", "sha256=zz", strings.Replace(want, "7571", "7572", 1)} {
		if ValidSignature([]byte(secret), []byte("Hello, World!"), h) {
			t.Errorf("signature %q accepted", h)
		}
	}
	if ValidSignature(nil, []byte("x"), sign([]byte("x"))) {
		t.Error("an empty secret verified a signature")
	}
}

func newStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "planbot.db"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func post(t testing.TB, h http.Handler, event, delivery string, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestReceive(t *testing.T) {
	ev := newEvents(t)
	good := ev.pr("opened", testRepo)
	command, conversation, botCommand := ev.comment("bob", "/plan"), ev.comment("bob", "looks good"), ev.comment(ev.BotLogin(), "/apply")
	repoNotAllowed, labeled := ev.pr("opened", otherRepo), ev.pr("labeled", testRepo)
	forged := []byte(`{"repo":"` + testRepo + `","environment":"prod","images":[{"name":"a/b","tag":"1"}],"installation":1}`)
	tests := []struct {
		name       string
		event      string
		body       []byte
		sig        string
		wantStatus int
		wantStored bool
	}{
		{name: "queued", event: "pull_request", body: good, sig: sign(good), wantStatus: http.StatusAccepted, wantStored: true},
		{name: "missing signature", event: "pull_request", body: good, wantStatus: http.StatusUnauthorized},
		{name: "bad signature", event: "pull_request", body: good, sig: sign([]byte("other")), wantStatus: http.StatusUnauthorized},
		{name: "malformed JSON", event: "pull_request", body: []byte(`{"action":`), sig: sign([]byte(`{"action":`)), wantStatus: http.StatusBadRequest},
		{name: "ping", event: "ping", body: []byte(`{"zen":"x"}`), sig: sign([]byte(`{"zen":"x"}`)), wantStatus: http.StatusOK},
		{name: "repo not allowed", event: "pull_request", body: repoNotAllowed, sig: sign(repoNotAllowed), wantStatus: http.StatusAccepted},
		{name: "uninteresting action", event: "pull_request", body: labeled, sig: sign(labeled), wantStatus: http.StatusAccepted},
		{name: "command", event: "issue_comment", body: command, sig: sign(command), wantStatus: http.StatusAccepted, wantStored: true},
		{name: "conversation", event: "issue_comment", body: conversation, sig: sign(conversation), wantStatus: http.StatusAccepted},
		{name: "bot comment", event: "issue_comment", body: botCommand, sig: sign(botCommand), wantStatus: http.StatusAccepted},
		{name: "release job posing as a webhook", event: "planbot_release", body: forged, sig: sign(forged), wantStatus: http.StatusBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			h := NewEngine(&Handler{Secret: []byte(secret), Queue: st, AllowRepo: func(r string) bool { return r == testRepo }, Logger: testLogger(t)})
			delivery := fmt.Sprintf("d-%d", i)
			rec := post(t, h, tt.event, delivery, tt.body, tt.sig)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			j, err := st.Job(context.Background(), delivery)
			if stored := err == nil && j != nil; stored != tt.wantStored {
				t.Fatalf("stored = %v (err %v), want %v", stored, err, tt.wantStored)
			}
			if tt.wantStored && !bytes.Equal(j.Payload, tt.body) {
				t.Errorf("stored payload differs from the delivered body")
			}
		})
	}
}

func TestDuplicateDeliveryIsNoOp(t *testing.T) {
	st := newStore(t)
	notified := 0
	h := NewEngine(&Handler{Secret: []byte(secret), Queue: st, Notify: func() { notified++ }, Logger: testLogger(t)})
	body := newEvents(t).pr("opened", testRepo)
	if rec := post(t, h, "pull_request", "same", body, sign(body)); rec.Code != http.StatusAccepted {
		t.Fatalf("first delivery: %d", rec.Code)
	}
	if rec := post(t, h, "pull_request", "same", body, sign(body)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "duplicate") {
		t.Fatalf("redelivery: %d %s", rec.Code, rec.Body)
	}
	if notified != 1 {
		t.Errorf("workers woken %d times, want 1", notified)
	}
	j, err := st.Job(context.Background(), "same")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if c, _ := st.Claim(context.Background(), "w", now, now.Add(time.Minute)); c == nil || c.ID != j.ID {
		t.Fatalf("claimed %v, want job %d", c, j.ID)
	}
	if c, _ := st.Claim(context.Background(), "w", now, now.Add(time.Minute)); c != nil {
		t.Errorf("a second job was stored for the redelivery: %+v", c)
	}
}

func TestBodyLimit(t *testing.T) {
	st := newStore(t)
	h := NewEngine(&Handler{Secret: []byte(secret), Queue: st, Logger: testLogger(t)})
	body := bytes.Repeat([]byte(" "), MaxBody+1)
	if rec := post(t, h, "pull_request", "big", body, sign(body)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", rec.Code)
	}
}

// brokenQueue fails to store every delivery.
type brokenQueue struct{}

func (brokenQueue) EnqueueDelivery(ctx context.Context, j store.Job) (bool, error) {
	return false, planbot.Errorf(planbot.EINTERNAL, "database is down")
}

func TestDeliveryMetrics(t *testing.T) {
	reg := metrics.New()
	deliveries := NewDeliveries(reg)
	hook := &Handler{
		Secret: []byte(secret), Queue: newStore(t), Deliveries: deliveries, Metrics: reg.Handler(),
		Logger: testLogger(t),
	}
	h := NewEngine(hook)
	body := newEvents(t).pr("opened", testRepo)
	post(t, h, "pull_request", "a", body, sign(body))                           // queued
	post(t, h, "pull_request", "a", body, sign(body))                           // duplicate
	post(t, h, "pull_request", "b", body, "sha256=00")                          // rejected
	post(t, h, "made_up_event", "c", body, "")                                  // rejected
	post(t, h, "ping", "d", []byte(`{"zen":"x"}`), sign([]byte(`{"zen":"x"}`))) // ignored
	broken := NewEngine(&Handler{Secret: []byte(secret), Queue: brokenQueue{}, Deliveries: deliveries, Logger: testLogger(t)})
	if rec := post(t, broken, "pull_request", "e", body, sign(body)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("store failure: status %d, want 500", rec.Code)
	}

	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != metrics.ContentType {
		t.Errorf("Content-Type = %q, want %q", got, metrics.ContentType)
	}
	var got []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "planbot_webhook_deliveries_total{") {
			got = append(got, l)
		}
	}
	want := []string{
		`planbot_webhook_deliveries_total{event="other",result="rejected"} 1`,
		`planbot_webhook_deliveries_total{event="ping",result="ignored"} 1`,
		`planbot_webhook_deliveries_total{event="pull_request",result="duplicate"} 1`,
		`planbot_webhook_deliveries_total{event="pull_request",result="error"} 1`,
		`planbot_webhook_deliveries_total{event="pull_request",result="queued"} 1`,
		`planbot_webhook_deliveries_total{event="pull_request",result="rejected"} 1`,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("served counters mismatch (-got +want):\n%s", diff)
	}

	// Without a metrics handler there is no /metrics route.
	rec = httptest.NewRecorder()
	broken.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /metrics without a handler: status %d, want 404", rec.Code)
	}
}

// BenchmarkAck measures a webhook's acknowledgement of a pull_request
// opened as GitHub sends it: signature check, decode and the durable SQLite
// write.
func BenchmarkAck(b *testing.B) {
	st := newStore(b)
	// Logs are discarded: writing them would be measured too.
	h := NewEngine(&Handler{Secret: []byte(secret), Queue: st, Logger: slog.New(slog.DiscardHandler)})
	body := newEvents(b).pr("opened", testRepo)
	sig := sign(body)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := post(b, h, "pull_request", fmt.Sprintf("bench-%d", i), body, sig); rec.Code != http.StatusAccepted {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
