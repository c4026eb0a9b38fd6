package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/runner"
)

// TestApplyLiveLog checks that an apply's terraform output goes to the
// live log, masked, and that the run ends with its outcome, next to the
// plan's run; and that the apply status links to the PR's page.
func TestApplyLiveLog(t *testing.T) {
	gh := newFake(t)
	w := startWebServer(t, gh)
	pr := w.openPlanned("live-apply", "carol", devChange("dev-live"), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	if reply := w.command(pr.Number, "bob", "/apply"); !strings.Contains(reply, "applied") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	st := w.openStore()
	runs, err := st.LogRuns(context.Background(), testRepo, pr.Number, 10)
	if err != nil || len(runs) != 2 || !runs[0].Ended || !runs[1].Ended {
		t.Fatalf("runs of #%d = %+v, %v; want the plan's and the apply's, ended", pr.Number, runs, err)
	}
	chunks, err := st.Log(context.Background(), testRepo, pr.Number, runs[0].Run, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, c := range chunks {
		text.WriteString(c.Text)
	}
	last := chunks[len(chunks)-1]
	if !strings.Contains(text.String(), "Apply complete!") || !last.End || last.Text != "applied" {
		t.Errorf("the apply's live log:\n%s\nends with %+v; want terraform's apply output and the end", text.String(), last)
	}
	if strings.Contains(text.String(), liveSecret) {
		t.Errorf("the apply's live log holds the credential")
	}
	// The apply status links to the PR's page, as the plan status does.
	var applied bool
	for _, s := range gh.Statuses(testRepo, pr.HeadSHA) {
		if s.Context != runner.StatusApply {
			continue
		}
		applied = applied || s.State == "success"
		if want := fmt.Sprintf("%s/%s/pull/%d", w.base, testRepo, pr.Number); s.TargetURL != want {
			t.Errorf("apply status %s %q links to %q, want the PR's page %q", s.State, s.Description, s.TargetURL, want)
		}
	}
	if !applied {
		t.Errorf("no successful %s status on %s", runner.StatusApply, pr.HeadSHA)
	}
}

// TestWebOwnListener serves the page on --ui-addr: there it is, and not
// on --addr, which keeps only the webhook routes.
func TestWebOwnListener(t *testing.T) {
	gh := newFake(t)
	secretFile := writeSecret(t, "client-secret", gh.ClientSecret())
	m := startServer(t, gh, t.TempDir(), "--github-client-id="+gh.ClientID(), "--github-client-secret-file="+secretFile,
		"--external-url=https://planbot.example.com", "--ui-addr=127.0.0.1:0").m
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(addr, path string) *http.Response {
		t.Helper()
		var resp *http.Response
		var err error
		waitFor(t, 20*time.Second, "GET "+addr+path, func() bool {
			resp, err = noRedirect.Get("http://" + addr + path)
			return err == nil
		})
		resp.Body.Close()
		return resp
	}
	if resp := get(m.Addr(), "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz on --addr: %d", resp.StatusCode)
	}
	if resp := get(m.Addr(), "/locks"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/locks on --addr: %d, want 404 (the page has its own listener)", resp.StatusCode)
	}
	resp := get(m.WebAddr(), "/locks")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("/locks on --ui-addr: %d %s, want a redirect to log in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get(m.WebAddr(), "/login"); !strings.HasPrefix(resp.Header.Get("Location"), "https://github.com/login/oauth/authorize?") {
		t.Errorf("/login redirects to %q, want GitHub's authorize page", resp.Header.Get("Location"))
	}
	if resp := get(m.WebAddr(), "/webhook"); resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusMethodNotAllowed {
		t.Errorf("/webhook on --ui-addr: %d, want it not served there", resp.StatusCode)
	}
}
