package web

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/store"
)

// TestLiveEvents checks the live log's stream: what was stored comes at
// once, what is stored later follows, and the stream ends after the end
// event; a reconnect resumes after Last-Event-ID.
func TestLiveEvents(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	add := func(text string, end bool) {
		t.Helper()
		if _, err := e.st.AppendLog(ctx, store.LogChunk{Repo: testRepo, PR: 4, Run: "d-1", Project: "dev", Text: text, End: end}); err != nil {
			t.Fatal(err)
		}
	}
	add("Initializing...\n", false)
	c := e.login("rita") // read access is enough
	e.get(c, "/"+testRepo+"/pull/4/runs/d-1", http.StatusOK)
	e.get(c, "/"+testRepo+"/pull/4/runs/not-yet-started", http.StatusOK)
	e.get(c, "/acme/hidden/pull/4/runs/d-1", http.StatusNotFound)
	resp, err := c.Get(e.srv.URL + "/" + testRepo + "/pull/4/runs/d-1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readEvent := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v (so far %q)", err, b.String())
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	if ev := readEvent(); !strings.Contains(ev, "event: chunk") || !strings.Contains(ev, `"text":"Initializing...\n"`) {
		t.Errorf("first event %q", ev)
	}
	add("Plan: 1 to add\n", false)
	if ev := readEvent(); !strings.Contains(ev, "Plan: 1 to add") {
		t.Errorf("second event %q", ev)
	}
	add("planned", true)
	if ev := readEvent(); !strings.Contains(ev, "event: end") || !strings.Contains(ev, `"text":"planned"`) {
		t.Errorf("last event %q", ev)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(r)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream after the end: %v, want a clean end", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end after the end event")
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/"+testRepo+"/pull/4/runs/d-1/events", nil)
	chunks, _ := e.st.Log(ctx, testRepo, 4, "d-1", 0, 10)
	req.Header.Set("Last-Event-ID", itoa64(chunks[1].ID))
	resp2, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if strings.Contains(string(rest), "Initializing") || strings.Contains(string(rest), "Plan: 1") || !strings.Contains(string(rest), "event: end") {
		t.Errorf("resumed stream %q: want only the end", rest)
	}
	// Someone who cannot read the repository gets no stream.
	e.get(e.login("mallory"), "/"+testRepo+"/pull/4/runs/d-1/events", http.StatusNotFound)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestLiveEventsClientGone checks that a stream ends, on the server,
// when its client goes away while the run goes on.
func TestLiveEventsClientGone(t *testing.T) {
	e := newEnv(t)
	if _, err := e.st.AppendLog(t.Context(), store.LogChunk{Repo: testRepo, PR: 4, Run: "d-2", Project: "dev", Text: "Initializing...\n"}); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.h.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			ended <- struct{}{}
		}
	}))
	defer srv.Close()
	c := e.login("rita")
	u, _ := url.Parse(e.srv.URL)
	req, _ := http.NewRequest("GET", srv.URL+"/"+testRepo+"/pull/4/runs/d-2/events", nil)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "id: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	select {
	case <-ended:
		t.Fatal("the stream ended while the run goes on")
	default:
	}
	resp.Body.Close() // the client goes away
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end after its client went away")
	}
}
