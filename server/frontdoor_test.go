package server

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/webhook/webhooktest"
)

// rawDelivery opens a connection to the server's webhook and sends the
// headers of a signed pull_request delivery of body, and then the first
// sent bytes of body. The connection is closed when the test ends.
func (e *testEnv) rawDelivery(delivery string, body []byte, contentLength, sent int) net.Conn {
	e.t.Helper()
	addr := strings.TrimPrefix(strings.TrimSuffix(e.url, "/webhook"), "http://")
	return webhooktest.RawDelivery(e.t, addr, testSecret, delivery, body, contentLength, sent)
}

// answer reads the response on c within limit.
func answer(t *testing.T, c net.Conn, limit time.Duration) int {
	t.Helper()
	return webhooktest.ReadResponse(t, c, limit).StatusCode
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFrontDoor runs a server with /metrics on its own address and room
// for one webhook request at a time. /metrics is served only there; a
// 30 MiB Content-Length is refused from the header; and a delivery that
// arrives while another is in flight is answered 503, recorded by GitHub
// as failed, and redelivered by planbot itself, so its PR is planned.
func TestFrontDoor(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--metrics-addr=127.0.0.1:0", "--max-inflight-webhooks=1", "--redeliver-interval=1s")
	root := strings.TrimSuffix(e.url, "/webhook")
	if e.metricsURL == root {
		t.Fatal("--metrics-addr did not open a listener of its own")
	}
	if got := getStatus(t, root+"/metrics"); got != http.StatusNotFound {
		t.Errorf("GET /metrics on the webhook address: status %d, want 404", got)
	}
	if body := e.scrape(); !strings.Contains(body, "\nplanbot_webhook_requests_in_flight 0\n") {
		t.Errorf("metrics address lacks planbot_webhook_requests_in_flight 0:\n%s", body)
	}
	if got := getStatus(t, e.metricsURL+"/webhook"); got != http.StatusNotFound {
		t.Errorf("GET /webhook on the metrics address: status %d, want 404", got)
	}

	// No body at all follows the announced 30 MiB.
	huge := e.rawDelivery("huge", []byte("{}"), 30<<20, 0)
	if got := answer(t, huge, 30*time.Second); got != http.StatusRequestEntityTooLarge {
		t.Errorf("30 MiB Content-Length: status %d, want 413", got)
	}

	sha, pr := renameDev(gh, "busy", "dev-busy")
	held := []byte(`{"zen":"held"}`)
	c := e.rawDelivery("held", held, len(held), 1)
	waitFor(t, time.Minute, "one webhook request in flight", func() bool {
		return strings.Contains(e.scrape(), "\nplanbot_webhook_requests_in_flight 1\n")
	})
	resp, guid, err := gh.Deliver(t.Context(), e.url, testSecret, "pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("delivery over the cap: status %d, want 503", resp.StatusCode)
	}
	c.Close() // the held request ends and frees its place

	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan = %s, want success", got)
	}
	var codes []int
	for _, d := range gh.Deliveries() {
		if d.ID == guid {
			codes = append(codes, d.StatusCode)
		}
	}
	if len(codes) < 2 || codes[0] != http.StatusServiceUnavailable || codes[len(codes)-1] != http.StatusAccepted {
		t.Errorf("attempts of the refused delivery answered %v, want 503 first and 202 last", codes)
	}
	if body := e.scrape(); !strings.Contains(body, `planbot_webhook_deliveries_total{event="pull_request",result="busy"} 1`) {
		t.Errorf("metrics lack the busy delivery:\n%s", body)
	}
}

// TestReadTimeoutFlag checks that --read-timeout reaches the server: a
// body sent one byte every 100ms is cut off after the 500ms given.
func TestReadTimeoutFlag(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir(), "--read-header-timeout=500ms", "--read-timeout=500ms")
	body := []byte(strings.Repeat(" ", 600))
	c := e.rawDelivery("slow", body, len(body), 0)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := range body {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := c.Write(body[i : i+1]); err != nil {
				return
			}
		}
	}()
	// The body takes a minute; only the timeout answers within 30s.
	if got := answer(t, c, 30*time.Second); got != http.StatusRequestTimeout {
		t.Errorf("slow body: status %d, want 408", got)
	}
}
