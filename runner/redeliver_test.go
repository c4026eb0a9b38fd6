package runner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/githubfake"
)

func TestPending(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	pr := func(id int64, guid string, code int, ago time.Duration, redelivery bool) githubapp.Delivery {
		return githubapp.Delivery{ID: id, GUID: guid, Event: "pull_request", Action: "opened", StatusCode: code, DeliveredAt: at(ago), Redelivery: redelivery}
	}
	tests := []struct {
		name     string
		attempts []githubapp.Delivery
		want     []redelivery
	}{
		{name: "nothing listed"},
		{
			name:     "connection refused",
			attempts: []githubapp.Delivery{pr(1, "a", 0, time.Hour, false)},
			want:     []redelivery{{GUID: "a", Attempt: 1}},
		},
		{
			name:     "delivered",
			attempts: []githubapp.Delivery{pr(1, "a", 202, time.Hour, false)},
		},
		{
			name:     "answered 500, newest attempt is redelivered",
			attempts: []githubapp.Delivery{pr(7, "a", 500, time.Minute, true), pr(3, "a", 0, time.Hour, false)},
			want:     []redelivery{{GUID: "a", Attempt: 7}},
		},
		{
			name:     "answered 503 over the in-flight cap",
			attempts: []githubapp.Delivery{pr(4, "a", http.StatusServiceUnavailable, time.Minute, false)},
			want:     []redelivery{{GUID: "a", Attempt: 4}},
		},
		{
			name:     "succeeded on a redelivery",
			attempts: []githubapp.Delivery{pr(7, "a", 200, time.Minute, true), pr(3, "a", 0, time.Hour, false)},
		},
		{
			name:     "a later failed redelivery does not undo a success",
			attempts: []githubapp.Delivery{pr(9, "a", 0, time.Minute, true), pr(3, "a", 202, time.Hour, false)},
		},
		{
			name:     "outside the window",
			attempts: []githubapp.Delivery{pr(1, "a", 0, 73*time.Hour, false)},
		},
		{
			name:     "first attempt decides the window",
			attempts: []githubapp.Delivery{pr(5, "a", 0, time.Hour, true), pr(1, "a", 0, 73*time.Hour, false)},
		},
		{
			name: "events planbot ignores",
			attempts: []githubapp.Delivery{
				{ID: 1, GUID: "r", Event: "pull_request_review", Action: "submitted", DeliveredAt: at(time.Hour)},
				{ID: 2, GUID: "l", Event: "pull_request", Action: "labeled", DeliveredAt: at(time.Hour)},
				{ID: 3, GUID: "e", Event: "issue_comment", Action: "edited", DeliveredAt: at(time.Hour)},
				{ID: 4, GUID: "c", Event: "issue_comment", Action: "created", DeliveredAt: at(time.Hour)},
			},
			want: []redelivery{{GUID: "c", Attempt: 4}},
		},
		{
			name: "too many attempts",
			attempts: []githubapp.Delivery{
				pr(4, "a", 0, time.Minute, true), pr(3, "a", 0, 2*time.Minute, true), pr(2, "a", 0, 3*time.Minute, true), pr(1, "a", 0, time.Hour, false),
			},
		},
		{
			name:     "oldest first",
			attempts: []githubapp.Delivery{pr(9, "new", 0, time.Minute, false), pr(8, "old", 503, 2*time.Hour, false), pr(2, "mid", 0, time.Hour, false)},
			want:     []redelivery{{GUID: "old", Attempt: 8}, {GUID: "mid", Attempt: 2}, {GUID: "new", Attempt: 9}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pending(tt.attempts, now, 72*time.Hour, 4, event.Handles)
			if diff := cmp.Diff(got, tt.want, cmp.AllowUnexported(redelivery{})); diff != "" {
				t.Errorf("pending (-got +want):\n%s", diff)
			}
		})
	}
}

// hookServer receives webhooks on addr and records their GUIDs.
type hookServer struct {
	mu    sync.Mutex // mu guards the field below.
	guids []string
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.guids = append(h.guids, r.Header.Get("X-GitHub-Delivery"))
	h.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (h *hookServer) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.guids...)
}

func TestRedelivererOnce(t *testing.T) {
	gh := githubfake.New(t)
	gh.CreateRepo("acme/infra", map[string]string{"main.tf": "#\n"})
	gh.AddInstallation(1, "acme/infra")
	gh.Commit("acme/infra", "f", map[string]string{"main.tf": "# f\n"}, nil, "f")
	pr := gh.OpenPR("acme/infra", "f", "main", "alice", "F")
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	opened := gh.PullRequestEvent("opened", "acme/infra", pr.Number)

	// Nothing listens on up yet, and never on down.
	up, down := githubfake.FreeAddr(t), githubfake.FreeAddr(t)
	deliver := func(addr, event string, payload []byte) string {
		t.Helper()
		_, guid, _ := gh.Deliver(ctx, "http://"+addr+"/webhook", "s3cret", event, payload)
		return guid
	}
	lost := deliver(up, "pull_request", opened)
	deliver(up, "pull_request_review", gh.ReviewEvent("submitted", "acme/infra", pr.Number, gh.SubmitReview("acme/infra", pr.Number, "bob", "APPROVED", "")))
	failing := deliver(down, "pull_request", opened)

	hook := &hookServer{}
	l, err := net.Listen("tcp", up)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hook}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	delivered := deliver(up, "pull_request", opened)

	now := time.Now()
	r := &Redeliverer{GitHub: app, Interval: time.Hour, Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	n, err := r.Once(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Once = %d, %v; want 2 redeliveries (the lost and the failing one)", n, err)
	}
	if diff := cmp.Diff(hook.received(), []string{delivered, lost}); diff != "" {
		t.Errorf("received (-got +want):\n%s", diff)
	}

	// The failing delivery is not asked for again within two Intervals,
	// and the recovered one never again.
	if n, err := r.Once(ctx); err != nil || n != 0 {
		t.Errorf("second Once = %d, %v; want 0", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := r.Once(ctx); err != nil || n != 1 {
		t.Errorf("Once two Intervals later = %d, %v; want 1 (the failing delivery)", n, err)
	}
	var attempts int
	for _, d := range gh.Deliveries() {
		if d.ID == failing {
			attempts++
		}
	}
	if attempts != 3 {
		t.Errorf("the failing delivery has %d attempts, want 3", attempts)
	}
	if diff := cmp.Diff(hook.received(), []string{delivered, lost}); diff != "" {
		t.Errorf("received after the later passes (-got +want):\n%s", diff)
	}
}

// flakyHooks fails to list deliveries and reports each call.
type flakyHooks struct{ calls chan struct{} }

func (f flakyHooks) Deliveries(ctx context.Context, since time.Time) ([]githubapp.Delivery, error) {
	select {
	case f.calls <- struct{}{}:
	default:
	}
	return nil, errors.New("GitHub is down")
}

func (f flakyHooks) Redeliver(ctx context.Context, id int64) error { return nil }

func TestRedelivererRunSurvivesErrors(t *testing.T) {
	f := flakyHooks{calls: make(chan struct{}, 1)}
	r := &Redeliverer{GitHub: f, Interval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for i := 0; i < 3; i++ {
		<-f.calls // Run keeps going after failed passes.
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil when its context ends", err)
	}
}
