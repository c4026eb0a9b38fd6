package setup_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/setup"
)

// started is a setup running in the background.
type started struct {
	page           string
	stdout, stderr *logtest.Buffer
	done           chan error
}

func start(t *testing.T, o setup.Options) *started {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &started{page: "http://" + ln.Addr().String() + "/", stdout: &logtest.Buffer{}, stderr: &logtest.Buffer{}, done: make(chan error, 1)}
	go func() { s.done <- setup.Run(ctx, o, s.stdout, s.stderr) }()
	return s
}

func (s *started) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("setup did not finish")
		return nil
	}
}

var (
	actionRE   = regexp.MustCompile(`<form action="([^"]*)" method="post">`)
	manifestRE = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`)
)

// readForm gets the setup page and returns its form's action and manifest.
func readForm(t *testing.T, c *http.Client, page string) (string, string) {
	t.Helper()
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a, m := actionRE.FindStringSubmatch(string(body)), manifestRE.FindStringSubmatch(string(body))
	if resp.StatusCode != 200 || a == nil || m == nil {
		t.Fatalf("setup page: %d\n%s", resp.StatusCode, body)
	}
	return html.UnescapeString(a[1]), html.UnescapeString(m[1])
}

// TestSetup drives planbot setup as a browser would: it reads the setup
// page, posts its form to the fake GitHub, which sends the browser back
// with a code, and checks what was written and printed.
func TestSetup(t *testing.T) {
	gh := githubfake.New(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	opts := setup.Options{Org: "acme", WebhookURL: "https://planbot.example.com/webhook", GitHubURL: gh.URL(), Dir: dir}
	s := start(t, opts)
	browser := &http.Client{Timeout: 30 * time.Second}

	action, manifest := readForm(t, browser, s.page)
	if want := gh.URL() + "/organizations/acme/settings/apps/new?state="; !strings.HasPrefix(action, want) || len(action) == len(want) {
		t.Errorf("form action %q, want %q and a state", action, want)
	}
	resp, err := browser.PostForm(action, url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	landing, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(landing), "was created") || resp.Request.URL.Path != "/callback" {
		t.Errorf("landing page at %s: %d\n%s", resp.Request.URL, resp.StatusCode, landing)
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("setup: %v\nstderr: %s", err, s.stderr)
	}

	apps := gh.ManifestApps()
	if len(apps) != 1 || !apps[0].Converted || apps[0].Org != "acme" {
		t.Fatalf("apps created: %+v", apps)
	}
	checkManifest(t, apps[0], s.page)
	checkSecretFiles(t, gh, apps[0], dir)

	// They are never printed, and the next command is.
	for _, secret := range []string{apps[0].WebhookSecret, apps[0].ClientSecret, "PRIVATE KEY", string(gh.PrivateKeyPEM()[40:80])} {
		for stream, text := range map[string]string{"stdout": s.stdout.String(), "stderr": s.stderr.String(), "landing page": string(landing)} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows a secret", stream)
			}
		}
	}
	for _, want := range []string{
		"planbot server \\\n  --github-app-id 4242 \\\n  --github-app-key-file " + filepath.Join(dir, "app.pem") + " \\\n  --webhook-secret-file " + filepath.Join(dir, "webhook-secret") +
			" \\\n  --github-api-url " + gh.APIURL() + " \\\n  --github-client-id " + gh.ClientID() + " \\\n  --github-client-secret-file " + filepath.Join(dir, "client-secret") +
			" \\\n  --external-url https://planbot.example.com \\\n  --github-web-url " + gh.URL() + "/\n",
		"PLANBOT_GITHUB_APP_ID=4242\nPLANBOT_GITHUB_APP_KEY_FILE=" + filepath.Join(dir, "app.pem") + "\n",
		"PLANBOT_GITHUB_CLIENT_ID=" + gh.ClientID() + "\nPLANBOT_GITHUB_CLIENT_SECRET_FILE=" + filepath.Join(dir, "client-secret") + "\nPLANBOT_EXTERNAL_URL=https://planbot.example.com\n",
		"https://planbot.example.com/auth/callback",
		"/apps/planbot/installations/new",
	} {
		if !strings.Contains(s.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, s.stdout)
		}
	}
	checkEnvFile(t, gh, s.stdout.String())

	// A second run refuses to overwrite the files, before it serves a page.
	before := len(gh.Requests())
	err = setup.Run(context.Background(), setup.Options{Org: "acme", WebhookURL: "https://planbot.example.com/webhook", GitHubURL: gh.URL(), Dir: dir, Addr: "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "never overwrites") || !strings.Contains(err.Error(), filepath.Join(dir, "app.pem")) {
		t.Errorf("second run: %v, want a refusal naming the key file", err)
	}
	if len(gh.Requests()) != before {
		t.Error("second run talked to GitHub")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, setup.KeyFile)); string(b) != string(gh.PrivateKeyPEM()) {
		t.Error("second run changed the key file")
	}
}

// checkManifest checks that the manifest of app, created by the setup
// served at page, asks for exactly planbot's permissions and events.
func checkManifest(t *testing.T, app githubfake.ManifestApp, page string) {
	t.Helper()
	got, _ := json.Marshal(app.Manifest)
	var m map[string]any
	json.Unmarshal(got, &m)
	want := map[string]any{
		"name":            "planbot-acme",
		"url":             "https://planbot.example.com",
		"hook_attributes": map[string]any{"url": "https://planbot.example.com/webhook", "active": true},
		"redirect_url":    page + "callback",
		"callback_urls":   []any{"https://planbot.example.com/auth/callback"},
		"public":          false,
		"default_permissions": map[string]any{
			"contents": "write", "pull_requests": "write", "checks": "write", "statuses": "write",
			"issues": "write", "members": "read", "metadata": "read",
		},
		"default_events": []any{"pull_request", "pull_request_review", "issue_comment", "push", "check_run", "check_suite"},
	}
	if diff := cmp.Diff(m, want); diff != "" {
		t.Errorf("manifest (-got +want):\n%s", diff)
	}
}

// checkEnvFile checks that the environment file setup printed starts a
// server whose web page logs in with the App's client id and secret, as
// the conversion returned them.
func checkEnvFile(t *testing.T, gh *githubfake.Server, stdout string) {
	t.Helper()
	_, after, _ := strings.Cut(stdout, "as an environment file")
	block, _, _ := strings.Cut(strings.SplitN(after, "\n\n", 2)[1], "\n\n")
	env := map[string]string{}
	for _, line := range strings.Split(block, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "PLANBOT_") {
			t.Fatalf("environment file line %q", line)
		}
		env[k] = v
	}
	env["PLANBOT_DATA_DIR"] = t.TempDir()
	o, err := config.ParseServer(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the printed environment file does not configure a server: %v\n%s", err, block)
	}
	if !o.Web.Enabled() || o.Web.ClientID != gh.ClientID() || o.Web.ExternalURL != "https://planbot.example.com" || o.Web.WebURL != gh.URL()+"/" {
		t.Errorf("web page configuration %+v, want it on, with the fake App's client id and the external URL", o.Web)
	}
	if secret, err := o.Web.LoadClientSecret(); err != nil || string(secret) != gh.ClientSecret() {
		t.Errorf("client secret from %s: %v; want the fake App's", o.Web.ClientSecretFile, err)
	}
}

// checkSecretFiles checks that the conversion's secrets of app are in
// files of mode 0600 in dir.
func checkSecretFiles(t *testing.T, gh *githubfake.Server, app githubfake.ManifestApp, dir string) {
	t.Helper()
	secrets := map[string]string{
		setup.KeyFile:           string(gh.PrivateKeyPEM()),
		setup.WebhookSecretFile: app.WebhookSecret + "\n",
		setup.ClientSecretFile:  app.ClientSecret + "\n",
	}
	for name, content := range secrets {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
		if b, _ := os.ReadFile(p); string(b) != content {
			t.Errorf("%s holds %q, want the conversion's value", name, b)
		}
	}
}

// TestSetupPersonalAccount checks the form of an App without --org, with
// its own --external-url, and that a redirect with another state converts
// nothing.
func TestSetupPersonalAccount(t *testing.T) {
	gh := githubfake.New(t)
	s := start(t, setup.Options{WebhookURL: "https://hooks.example.com/webhook", ExternalURL: "https://planbot.internal.example.com/", GitHubURL: gh.URL(), Dir: t.TempDir()})
	c := &http.Client{Timeout: 30 * time.Second}
	action, manifest := readForm(t, c, s.page)
	if want := gh.URL() + "/settings/apps/new?state="; !strings.HasPrefix(action, want) {
		t.Errorf("form action %q, want %q…", action, want)
	}
	var m struct {
		URL          string   `json:"url"`
		CallbackURLs []string `json:"callback_urls"`
	}
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.CallbackURLs, []string{"https://planbot.internal.example.com/auth/callback"}); diff != "" || m.URL != "https://hooks.example.com" {
		t.Errorf("manifest url %q, callback_urls (-got +want):\n%s", m.URL, diff)
	}
	resp, err := c.Get(s.page + "callback?code=abc&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state answered %d, want 400", resp.StatusCode)
	}
	for _, r := range gh.Requests() {
		if strings.Contains(r.Path, "app-manifests") {
			t.Errorf("forged state converted a code: %s %s", r.Method, r.Path)
		}
	}
	select {
	case err := <-s.done:
		t.Errorf("setup ended after a forged redirect: %v", err)
	default:
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		o       setup.Options
		wantErr []string
		wantAPI string
	}{
		{name: "github.com", o: setup.Options{WebhookURL: "https://x.example/webhook", GitHubURL: "https://github.com", Dir: "."}, wantAPI: "https://api.github.com/"},
		{name: "enterprise", o: setup.Options{WebhookURL: "https://x.example/webhook", GitHubURL: "https://github.example.com/", Dir: "."}, wantAPI: "https://github.example.com/api/v3/"},
		{name: "explicit API", o: setup.Options{WebhookURL: "https://x.example/webhook", GitHubURL: "https://github.example.com", APIURL: "https://api.example.com", Dir: "."}, wantAPI: "https://api.example.com/"},
		{name: "all problems at once", o: setup.Options{Org: "-bad org", GitHubURL: "github.com", ExternalURL: "planbot.example.com"},
			wantErr: []string{"--org must be", "--webhook-url is required", "--github-url must be an http(s) URL", "--external-url must be an http(s) URL", "--dir must not be empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q", err, w)
				}
			}
			if tt.wantErr == nil && (err != nil || tt.o.APIURL != tt.wantAPI) {
				t.Errorf("err = %v, API URL %q, want %q", err, tt.o.APIURL, tt.wantAPI)
			}
			if tt.wantErr == nil && tt.o.CallbackURL() != "https://x.example/auth/callback" {
				t.Errorf("callback URL %q, want the webhook URL's origin's /auth/callback", tt.o.CallbackURL())
			}
		})
	}
}

// TestSetupWithoutClientSecret checks that a conversion without a client
// secret writes no client secret file and prints a server command without
// the web page, saying so.
func TestSetupWithoutClientSecret(t *testing.T) {
	gh := githubfake.New(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/api/v3/app-manifests/") || !strings.HasSuffix(r.URL.Path, "/conversions") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{
			"id": 77, "slug": "planbot", "name": "planbot", "client_id": "Iv1.nosecret",
			"webhook_secret": "whsec-77", "pem": string(gh.PrivateKeyPEM()),
		})
	}))
	defer api.Close()
	dir := t.TempDir()
	s := start(t, setup.Options{WebhookURL: "https://planbot.example.com/webhook", GitHubURL: gh.URL(), APIURL: api.URL + "/api/v3/", Dir: dir})
	c := &http.Client{Timeout: 30 * time.Second}
	action, manifest := readForm(t, c, s.page)
	resp, err := c.PostForm(action, url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.wait(t); err != nil {
		t.Fatalf("setup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, setup.ClientSecretFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("client secret file: %v, want none", err)
	}
	out := s.stdout.String()
	if strings.Contains(out, "client-secret") || strings.Contains(out, "--github-client-id") || strings.Contains(out, "--external-url") || strings.Contains(out, "whsec-77") {
		t.Errorf("stdout names the web page's login, or a secret:\n%s", out)
	}
	if !strings.Contains(out, "--github-app-id 77") || !strings.Contains(out, "no client id or client secret") {
		t.Errorf("stdout lacks the server command or the note on the web page:\n%s", out)
	}
}
