package githubfake

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestManifestFlow(t *testing.T) {
	s := New(t)
	codes := make(chan url.Values, 1)
	back := startCallback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes <- r.URL.Query()
	}))
	manifest, _ := json.Marshal(map[string]any{
		"name": "acme-planbot", "url": "https://planbot.example.com",
		"hook_attributes":     map[string]any{"url": "https://planbot.example.com/webhook"},
		"redirect_url":        back + "/callback",
		"default_permissions": map[string]string{"contents": "write"},
		"default_events":      []string{"push"},
	})
	resp, err := http.PostForm(s.URL()+"/organizations/acme/settings/apps/new?state=xyz", url.Values{"manifest": {string(manifest)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := <-codes
	if q.Get("state") != "xyz" || q.Get("code") == "" {
		t.Fatalf("redirected with %v", q)
	}

	gh := github.NewClient(s.Client())
	gh.BaseURL, _ = url.Parse(s.APIURL())
	cfg, resp2, err := gh.Apps.CompleteAppManifest(context.Background(), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if resp2.StatusCode != http.StatusCreated {
		t.Errorf("status %d, want 201", resp2.StatusCode)
	}
	apps := s.ManifestApps()
	if len(apps) != 1 || apps[0].Org != "acme" || !apps[0].Converted {
		t.Fatalf("ManifestApps = %+v", apps)
	}
	if cfg.GetID() != s.AppID() || cfg.GetSlug() != s.AppSlug() || cfg.GetClientID() != s.ClientID() || cfg.GetName() != "acme-planbot" ||
		cfg.GetPEM() != string(s.PrivateKeyPEM()) || cfg.GetWebhookSecret() != apps[0].WebhookSecret || cfg.GetClientSecret() != apps[0].ClientSecret || cfg.GetClientSecret() != s.ClientSecret() ||
		cfg.GetOwner().GetLogin() != "acme" || cfg.GetWebhookSecret() == "" {
		t.Errorf("conversion = %+v", cfg)
	}
	// A code converts once.
	if _, resp, err := gh.Apps.CompleteAppManifest(context.Background(), q.Get("code")); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("second conversion: %v, want 404", err)
	}
}

func TestManifestCodeExpires(t *testing.T) {
	s := New(t)
	manifest := `{"name":"x","url":"https://x.example","hook_attributes":{"url":"https://x.example/webhook"},"redirect_url":"http://127.0.0.1:1/cb"}`
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(s.URL()+"/settings/apps/new", url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), "http://127.0.0.1:1/cb?") {
		t.Fatalf("answer %d to %q", resp.StatusCode, loc)
	}
	s.Advance(time.Hour + time.Minute)
	req, _ := http.NewRequest("POST", s.APIURL()+"app-manifests/"+loc.Query().Get("code")+"/conversions", nil)
	req.Header.Set("User-Agent", "test")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("expired code converted: %d", resp.StatusCode)
	}
}
