package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/webhook/webhooktest"
)

// testTimeouts are short enough for a slow client to be cut off quickly;
// the write and idle timeouts stay long so that they never interfere.
var testTimeouts = Timeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Write: 30 * time.Second, Idle: 30 * time.Second}

// serve runs h behind NewServer on a loopback port until the test ends and
// returns its address.
func serve(t *testing.T, h *Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(NewEngine(h), to)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func noJob(t *testing.T, st store.Store, delivery string) {
	t.Helper()
	if j, err := st.Job(t.Context(), delivery); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delivery %s was stored: %+v, %v", delivery, j, err)
	}
}

// TestSlowBodyCutByReadTimeout sends a delivery's headers and then its body
// one byte every 50ms, so that it would take minutes: the read timeout
// (300ms here) cuts it off long before, with a 408 and a closed connection,
// and nothing is stored.
func TestSlowBodyCutByReadTimeout(t *testing.T) {
	st := newStore(t)
	reg := metrics.New()
	deliveries := NewDeliveries(reg)
	h := &Handler{Secret: []byte(secret), Queue: st, Deliveries: deliveries, Logger: testLogger(t)}
	addr := serve(t, h, testTimeouts)

	// At a byte every 50ms, 1200 bytes take a minute; a real payload is
	// many kilobytes.
	body := newEvents(t).pr("opened", testRepo)
	if len(body) < 1200 {
		body = append(body, bytes.Repeat([]byte(" "), 1200-len(body))...)
	}
	c := webhooktest.RawDelivery(t, addr, secret, "slow", body, len(body), 0)
	stop := make(chan struct{})
	var sent int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for _, b := range body {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			sent++
		}
	}()

	start := time.Now()
	// Far more than the read timeout, far less than the minute the body
	// takes: only the timeout can answer in between.
	resp := webhooktest.ReadResponse(t, c, 20*time.Second)
	close(stop)
	wg.Wait()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if sent >= len(body) {
		t.Fatalf("the whole body was sent (%d bytes in %v) before the answer", sent, time.Since(start))
	}
	// The server closes the connection after the answer.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection still open after the read timeout: read %d bytes, %v", n, err)
	}
	noJob(t, st, "slow")
	if got := deliveries.Value("pull_request", ResultRejected); got != 1 {
		t.Errorf("rejected deliveries = %v, want 1", got)
	}
}

// TestContentLengthOver25MiB announces a 30 MiB body and sends none of it:
// the 413 must come anyway, since planbot answers from the header alone.
func TestContentLengthOver25MiB(t *testing.T) {
	st := newStore(t)
	h := &Handler{Secret: []byte(secret), Queue: st, Logger: testLogger(t)}
	// Long read timeouts: only the header check can answer in time.
	addr := serve(t, h, Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: time.Minute})

	c := webhooktest.RawDelivery(t, addr, secret, "huge", []byte("{}"), 30<<20, 0)
	resp := webhooktest.ReadResponse(t, c, 20*time.Second)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if !resp.Close {
		t.Error("the 413 does not close the connection, so the server would read the body")
	}
	noJob(t, st, "huge")
}

// TestInflightCap holds two deliveries in flight, their bodies half sent,
// with a cap of two: a third is answered 503 at once. Once the two finish,
// they are queued, and a later delivery is accepted again.
func TestInflightCap(t *testing.T) {
	st := newStore(t)
	reg := metrics.New()
	h := &Handler{
		Secret: []byte(secret), Queue: st, MaxInFlight: 2,
		Deliveries: NewDeliveries(reg), InFlight: NewInFlight(reg), Logger: testLogger(t),
	}
	ev := newEvents(t)
	addr := serve(t, h, Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: time.Minute})

	type held struct {
		c    net.Conn
		body []byte
	}
	var hs []held
	for i := range 2 {
		body := ev.pr([]string{"opened", "synchronize"}[i], testRepo)
		c := webhooktest.RawDelivery(t, addr, secret, fmt.Sprintf("held-%d", i), body, len(body), len(body)/2)
		hs = append(hs, held{c, body})
	}
	for deadline := time.Now().Add(20 * time.Second); h.InFlight.Value() != 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("requests in flight = %v, want 2", h.InFlight.Value())
		}
	}

	send := func(delivery string) int {
		t.Helper()
		body := ev.pr("reopened", testRepo)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", sign(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send("over"); got != http.StatusServiceUnavailable {
		t.Fatalf("over the cap: status %d, want 503", got)
	}
	noJob(t, st, "over")
	if got := h.Deliveries.Value("pull_request", ResultBusy); got != 1 {
		t.Errorf("busy deliveries = %v, want 1", got)
	}

	for i, x := range hs {
		if _, err := x.c.Write(x.body[len(x.body)/2:]); err != nil {
			t.Fatal(err)
		}
		if resp := webhooktest.ReadResponse(t, x.c, 20*time.Second); resp.StatusCode != http.StatusAccepted {
			t.Errorf("held delivery %d: status %d, want 202", i, resp.StatusCode)
		}
		if _, err := st.Job(t.Context(), fmt.Sprintf("held-%d", i)); err != nil {
			t.Errorf("held delivery %d not stored: %v", i, err)
		}
	}
	if got := h.InFlight.Value(); got != 0 {
		t.Errorf("requests in flight after the answers = %v, want 0", got)
	}
	// The 503 kept nothing: the same delivery, redelivered, is queued.
	if got := send("over"); got != http.StatusAccepted {
		t.Errorf("redelivery after the load: status %d, want 202", got)
	}
	if body := scrapeText(t, reg); !strings.Contains(body, "\nplanbot_webhook_requests_in_flight 0\n") {
		t.Errorf("metrics lack planbot_webhook_requests_in_flight 0:\n%s", body)
	}
}

func scrapeText(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	if err := reg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
