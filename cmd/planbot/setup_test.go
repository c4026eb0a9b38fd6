package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/logtest"
)

// TestSetupCommand runs `planbot setup` against the GitHub fake, with an
// HTTP client in the browser's place, then runs it again.
func TestSetupCommand(t *testing.T) {
	gh := githubfake.New(t)
	dir := t.TempDir()
	addr := githubfake.FreeAddr(t)
	args := []string{"setup", "--org", "acme", "--webhook-url", "https://planbot.example.com/webhook", "--github-url", gh.URL(), "--dir", dir, "--addr", addr}
	var stdout, stderr logtest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), args, &stdout, &stderr) }()

	page := regexp.MustCompile(`Open (http://\S+/) in a browser`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m = page.FindStringSubmatch(stdout.String())
	}
	if m == nil {
		t.Fatalf("no page URL printed:\n%s\n%s", stdout.String(), stderr.String())
	}
	browser := &http.Client{Timeout: 30 * time.Second}
	resp, err := browser.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(string(body))
	manifest := regexp.MustCompile(`name="manifest" value="([^"]*)"`).FindStringSubmatch(string(body))
	if action == nil || manifest == nil {
		t.Fatalf("setup page has no form:\n%s", body)
	}
	resp, err = browser.PostForm(html.UnescapeString(action[1]), url.Values{"manifest": {html.UnescapeString(manifest[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("planbot setup did not finish")
	}

	app := gh.ManifestApps()[0]
	for _, name := range []string{"app.pem", "webhook-secret", "client-secret"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", name, err, fi.Mode().Perm())
		}
	}
	out := stdout.String() + stderr.String()
	for _, secret := range []string{app.WebhookSecret, app.ClientSecret, "PRIVATE KEY"} {
		if strings.Contains(out, secret) {
			t.Errorf("planbot setup printed a secret:\n%s", out)
		}
	}
	if !strings.Contains(stdout.String(), "planbot server \\\n  --github-app-id 4242") {
		t.Errorf("no server command printed:\n%s", stdout.String())
	}
	for _, want := range []string{"--github-client-id " + gh.ClientID(), "--github-client-secret-file " + filepath.Join(dir, "client-secret"), "--external-url https://planbot.example.com"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the server command lacks the web page's %q:\n%s", want, stdout.String())
		}
	}
	if got := app.Manifest["callback_urls"]; fmt.Sprint(got) != "[https://planbot.example.com/auth/callback]" {
		t.Errorf("manifest callback_urls = %v, want the web page's login callback", got)
	}

	// Again: refused, exit 1, the files untouched.
	var out2, err2 bytes.Buffer
	if code := run(context.Background(), args, &out2, &err2); code != 1 || !strings.Contains(err2.String(), "never overwrites") {
		t.Errorf("second run: exit %d\n%s", code, err2.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "webhook-secret")); string(b) != app.WebhookSecret+"\n" {
		t.Error("the second run changed the webhook secret file")
	}
}
