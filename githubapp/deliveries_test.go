package githubapp_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/githubfake"
)

// closedURL returns a webhook URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + githubfake.FreeAddr(t) + "/webhook"
}

func TestDeliveries(t *testing.T) {
	gh, app, _ := newClient(t)
	ctx := t.Context()
	gh.Commit("acme/infra", "b", map[string]string{"a.tf": "#\n"}, nil, "b")
	pr := gh.OpenPR("acme/infra", "b", "main", "carol", "B")
	url := closedURL(t)
	payload := gh.PullRequestEvent("opened", "acme/infra", pr.Number)
	for i := 0; i < 101; i++ {
		if _, _, err := gh.Deliver(ctx, url, "s3cret", "pull_request", payload); err == nil {
			t.Fatal("a delivery to a closed port succeeded")
		}
	}
	first := gh.Deliveries()[0].ID

	got, err := app.Deliveries(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 101 {
		t.Fatalf("Deliveries returned %d attempts over two pages, want 101", len(got))
	}
	var pages []string
	for _, r := range gh.Requests() {
		if r.Path == "/app/hook/deliveries" {
			pages = append(pages, r.Query.Get("per_page")+" "+r.Query.Get("cursor"))
		}
	}
	if len(pages) != 2 || pages[0] != "100 " || pages[1] == "100 " {
		t.Errorf("requests = %q, want per_page=100 and then a cursor", pages)
	}
	last := got[len(got)-1]
	if diff := cmp.Diff(
		githubapp.Delivery{GUID: last.GUID, Event: last.Event, Action: last.Action, StatusCode: last.StatusCode, Redelivery: last.Redelivery},
		githubapp.Delivery{GUID: first, Event: "pull_request", Action: "opened"}); diff != "" {
		t.Errorf("oldest attempt (-got +want):\n%s", diff)
	}
	if got[0].ID <= last.ID || got[0].DeliveredAt.IsZero() || got[0].OK() {
		t.Errorf("newest attempt = %+v, want the newest first, failed, with a time", got[0])
	}

	// Attempts older than since are not listed.
	// A minute keeps the App JWT valid on the fake's clock.
	gh.Advance(time.Minute)
	if _, _, err := gh.Deliver(ctx, url, "s3cret", "pull_request", payload); err == nil {
		t.Fatal("a delivery to a closed port succeeded")
	}
	recent, err := app.Deliveries(ctx, gh.Now().Add(-30*time.Second))
	if err != nil || len(recent) != 1 {
		t.Fatalf("Deliveries(since 30s ago) = %d attempts, %v; want 1", len(recent), err)
	}

	if err := app.Redeliver(ctx, recent[0].ID); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	again, err := app.Deliveries(ctx, gh.Now().Add(-30*time.Second))
	if err != nil || len(again) != 2 || !again[0].Redelivery || again[0].GUID != recent[0].GUID {
		t.Errorf("after Redeliver: %+v, %v; want a new redelivery attempt of the same GUID", again, err)
	}
	if err := app.Redeliver(ctx, 987654321); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("Redeliver(unknown) = %v, want ENOTFOUND", err)
	}
}

func TestRedeliverDryRun(t *testing.T) {
	gh, _, _ := newClient(t)
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Redeliver(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range gh.Requests() {
		if r.Method == "POST" {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
}
