// Package setup creates planbot's GitHub App from a manifest, the flow of
// `planbot setup`.
//
// The model is GitHub's manifest flow. planbot serves a local page whose
// form POSTs the App manifest (the permissions and events planbot needs,
// nothing more) to GitHub's "new App" page for an organization or a
// personal account. The user confirms there; GitHub redirects the browser
// back to the local page's /callback with a one-time code, which planbot
// converts with POST /app-manifests/{code}/conversions into the App's id,
// private key, webhook secret, client id and client secret. The three
// secrets are written to files of mode 0600 that must not exist yet, and
// are never printed; what is printed is the `planbot server` command (and
// the same as an environment file) that uses them. The manifest names the
// web page's login callback (<external-url>/auth/callback), so the App's
// client id and secret log people in to planbot's web page (package web)
// without another step.
package setup

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
)

// Permissions returns the repository and organization permissions the App
// manifest asks for: exactly what planbot uses.
func Permissions() map[string]string {
	return map[string]string{
		"contents":      "write", // clone, read CODEOWNERS, merge
		"pull_requests": "write", // pull requests, files, reviews
		"checks":        "write", // check runs
		"statuses":      "write", // planbot/plan and planbot/apply
		"issues":        "write", // the plan comment, replies, reactions
		"members":       "read",  // team owners in CODEOWNERS
		"metadata":      "read",  // mandatory; collaborator permissions
	}
}

// Events returns the webhook events the App manifest subscribes to.
func Events() []string {
	return []string{"pull_request", "pull_request_review", "issue_comment", "push", "check_run", "check_suite"}
}

// The files setup writes into Options.Dir.
const (
	KeyFile           = "app.pem"
	WebhookSecretFile = "webhook-secret"
	ClientSecretFile  = "client-secret"
)

// publicAPIURL is the REST root of github.com, and publicWebURL its web
// root, as Options.Validate leaves it.
const (
	publicAPIURL = "https://api.github.com/"
	publicWebURL = "https://github.com"
)

// Options configure a setup.
type Options struct {
	// Org is the organization that owns the App; empty for the personal
	// account of the user who confirms it.
	Org string
	// Name is the App's name; GitHub lets the user change it before
	// creating the App.
	Name string
	// WebhookURL is where GitHub sends webhooks: planbot's public
	// https://HOST/webhook.
	WebhookURL string
	// HomepageURL is the App's homepage; empty means WebhookURL's origin.
	HomepageURL string
	// ExternalURL is the address browsers reach planbot's web page at;
	// empty means WebhookURL's origin. The login with GitHub comes back
	// to ExternalURL + "/auth/callback".
	ExternalURL string
	// GitHubURL is GitHub's web root: https://github.com, or a GitHub
	// Enterprise Server host.
	GitHubURL string
	// APIURL is GitHub's REST root; empty means the one of GitHubURL.
	APIURL string
	// Dir receives the key and secret files.
	Dir string
	// Addr is the local address of the setup page.
	Addr string
	// Listener, when set, serves the setup page instead of Addr.
	Listener net.Listener
	// Client makes the conversion request; nil means a client with a
	// timeout.
	Client *http.Client
}

var orgRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// Validate reports every problem with the options, and fills in defaults.
func (o *Options) Validate() error {
	var probs []string
	if o.Org != "" && !orgRE.MatchString(o.Org) {
		probs = append(probs, fmt.Sprintf("--org must be a GitHub organization login (letters, digits and -), not %q", o.Org))
	}
	if o.WebhookURL == "" {
		probs = append(probs, "--webhook-url is required: the public URL GitHub sends webhooks to, such as https://planbot.example.com/webhook (docs/install.md shows how to try planbot through a tunnel)")
	} else if !config.IsHTTPURL(o.WebhookURL) {
		probs = append(probs, fmt.Sprintf("--webhook-url must be an http(s) URL, not %q", o.WebhookURL))
	}
	if o.HomepageURL != "" && !config.IsHTTPURL(o.HomepageURL) {
		probs = append(probs, fmt.Sprintf("--homepage-url must be an http(s) URL, not %q", o.HomepageURL))
	}
	if o.ExternalURL != "" && !config.IsHTTPURL(o.ExternalURL) {
		probs = append(probs, fmt.Sprintf("--external-url must be an http(s) URL such as https://planbot.example.com, not %q", o.ExternalURL))
	}
	if !config.IsHTTPURL(o.GitHubURL) {
		probs = append(probs, fmt.Sprintf("--github-url must be an http(s) URL, such as https://github.com or https://github.example.com, not %q", o.GitHubURL))
	}
	if o.APIURL != "" && !config.IsHTTPURL(o.APIURL) {
		probs = append(probs, fmt.Sprintf("--github-api-url must be an http(s) URL, not %q", o.APIURL))
	}
	if o.Dir == "" {
		probs = append(probs, "--dir must not be empty")
	}
	if len(probs) > 0 {
		return planbot.Errorf(planbot.EINVALID, "%s", strings.Join(probs, "\n"))
	}
	o.GitHubURL = strings.TrimRight(o.GitHubURL, "/")
	if o.APIURL == "" {
		o.APIURL = apiURLOf(o.GitHubURL)
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		o.APIURL += "/"
	}
	u, _ := url.Parse(o.WebhookURL)
	origin := u.Scheme + "://" + u.Host
	if o.HomepageURL == "" {
		o.HomepageURL = origin
	}
	if o.ExternalURL == "" {
		o.ExternalURL = origin
	}
	o.ExternalURL = strings.TrimRight(o.ExternalURL, "/")
	if o.Name == "" {
		o.Name = "planbot"
		if o.Org != "" {
			o.Name = "planbot-" + o.Org
		}
	}
	return nil
}

// apiURLOf returns the REST root of a GitHub web root: api.github.com for
// github.com, /api/v3/ on a GitHub Enterprise Server host.
func apiURLOf(web string) string {
	if u, err := url.Parse(web); err == nil && strings.EqualFold(u.Hostname(), "github.com") {
		return publicAPIURL
	}
	return web + "/api/v3/"
}

// manifest is the App manifest GitHub's form receives.
type manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	HookAttributes     hookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	CallbackURLs       []string          `json:"callback_urls"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

type hookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// Manifest returns the App manifest for the options, with GitHub sending
// the user back to redirectURL.
func (o Options) Manifest(redirectURL string) any {
	return manifest{
		Name:               o.Name,
		URL:                o.HomepageURL,
		HookAttributes:     hookAttributes{URL: o.WebhookURL, Active: true},
		RedirectURL:        redirectURL,
		CallbackURLs:       []string{o.CallbackURL()},
		Public:             false,
		DefaultPermissions: Permissions(),
		DefaultEvents:      Events(),
	}
}

// CallbackURL returns where GitHub sends the web page's login back to.
func (o Options) CallbackURL() string { return o.ExternalURL + "/auth/callback" }

// FormAction returns the URL the setup page's form POSTs the manifest to.
func (o Options) FormAction(state string) string {
	p := "/settings/apps/new"
	if o.Org != "" {
		p = "/organizations/" + url.PathEscape(o.Org) + "/settings/apps/new"
	}
	return o.GitHubURL + p + "?state=" + url.QueryEscape(state)
}

// files returns the paths setup writes, in order.
func (o Options) files() []string {
	return []string{filepath.Join(o.Dir, KeyFile), filepath.Join(o.Dir, WebhookSecretFile), filepath.Join(o.Dir, ClientSecretFile)}
}

// checkFree refuses to go on when any of the files exists: a secret is
// never overwritten.
func (o Options) checkFree() error {
	var taken []string
	for _, p := range o.files() {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			taken = append(taken, p)
		}
	}
	if len(taken) > 0 {
		return planbot.Errorf(planbot.ECONFLICT, "%s already exist%s; planbot setup never overwrites credentials: move %s away or choose another --dir",
			strings.Join(taken, ", "), map[bool]string{true: "s", false: ""}[len(taken) == 1], map[bool]string{true: "it", false: "them"}[len(taken) == 1])
	}
	return nil
}

// App is what the conversion returned, without its secrets.
type App struct {
	ID      int64
	Slug    string
	Name    string
	HTMLURL string
	Owner   string
	// ClientID is the App's OAuth client id, for the web page's login;
	// empty when GitHub returned no client id or no client secret.
	ClientID string
	// clientSecret reports whether the client secret file was written.
	clientSecret bool
}

// Run creates the App: it serves the setup page until GitHub's redirect
// has been converted and the files written, or ctx ends. Progress goes to
// stdout; no secret is ever written to either stream.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := o.checkFree(); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", o.Dir, err)
	}
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", o.Addr, err)
		}
	}
	state, err := randomState()
	if err != nil {
		return err
	}
	page := "http://" + ln.Addr().String() + "/"
	f := &flow{o: o, state: state, redirect: page + "callback", done: make(chan result, 1)}
	srv := &http.Server{Handler: f.routes(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	who := "your personal account"
	if o.Org != "" {
		who = "the organization " + o.Org
	}
	fmt.Fprintf(stdout, "Open %s in a browser on this machine to create the GitHub App %q for %s on %s.\nWaiting for GitHub to send the browser back (Ctrl-C to stop)...\n", page, o.Name, who, o.GitHubURL)

	var res result
	select {
	case res = <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("planbot setup stopped before GitHub sent the browser back: %w", ctx.Err())
	}
	if res.err != nil {
		return res.err
	}
	// Let the browser receive its page before the server closes.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	printNext(stdout, o, res.app)
	return nil
}

// result is the outcome of the callback.
type result struct {
	app App
	err error
}

// flow is the state of one setup page.
type flow struct {
	o        Options
	state    string
	redirect string
	done     chan result

	mu       sync.Mutex // mu guards finished.
	finished bool
}

func (f *flow) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", f.serveForm)
	mux.HandleFunc("GET /callback", f.serveCallback)
	return mux
}

func (f *flow) serveForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := formPage.Execute(w, formData{
		Action:      f.o.FormAction(f.state),
		Manifest:    f.o.Manifest(f.redirect),
		Name:        f.o.Name,
		Org:         f.o.Org,
		GitHub:      f.o.GitHubURL,
		WebhookURL:  f.o.WebhookURL,
		CallbackURL: f.o.CallbackURL(),
		Permissions: sortedPairs(Permissions()),
		Events:      Events(),
	}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (f *flow) serveCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		donePage.Execute(w, doneData{Err: "This answer does not come from the form planbot setup served (its state does not match). Start again from the setup page."})
		return
	}
	code := q.Get("code")
	if code == "" {
		w.WriteHeader(http.StatusBadRequest)
		donePage.Execute(w, doneData{Err: "GitHub sent no code back."})
		return
	}
	f.mu.Lock()
	if f.finished {
		f.mu.Unlock()
		w.WriteHeader(http.StatusConflict)
		donePage.Execute(w, doneData{Err: "The App was already created; see the terminal."})
		return
	}
	f.finished = true
	f.mu.Unlock()

	app, err := convert(r.Context(), f.o, code)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		donePage.Execute(w, doneData{Err: planbot.ErrorMessage(err)})
		f.done <- result{err: err}
		return
	}
	donePage.Execute(w, doneData{App: app, Install: installURL(app)})
	f.done <- result{app: app}
}

// convert exchanges the code for the App and writes its secrets.
func convert(ctx context.Context, o Options, code string) (App, error) {
	hc := o.Client
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	gh := github.NewClient(hc)
	base, err := url.Parse(o.APIURL)
	if err != nil {
		return App{}, err
	}
	gh.BaseURL = base
	cfg, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		return App{}, planbot.Errorf(planbot.EINTERNAL, "convert the manifest code (POST %sapp-manifests/{code}/conversions): %v", o.APIURL, err)
	}
	app := App{ID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), HTMLURL: cfg.GetHTMLURL(), Owner: cfg.GetOwner().GetLogin()}
	secrets := []string{cfg.GetPEM(), cfg.GetWebhookSecret(), cfg.GetClientSecret()}
	if cfg.GetClientID() != "" && cfg.GetClientSecret() != "" {
		app.ClientID = cfg.GetClientID()
	}
	if secrets[0] == "" || secrets[1] == "" {
		return app, planbot.Errorf(planbot.EINTERNAL, "GitHub created the App %q (id %d) but returned no private key or webhook secret; delete it in its settings and run planbot setup again", app.Name, app.ID)
	}
	var written []string
	for i, p := range o.files() {
		if secrets[i] == "" {
			continue
		}
		if err := writeSecret(p, secrets[i]); err != nil {
			return app, planbot.Errorf(planbot.EINTERNAL, "GitHub created the App %q (id %d), but writing its secrets failed after %s: %v. GitHub shows them only once: delete the App in its settings and run planbot setup again",
				app.Name, app.ID, orNone(written), err)
		}
		written = append(written, p)
	}
	app.clientSecret = secrets[2] != ""
	return app, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no file"
	}
	return strings.Join(s, ", ")
}

// writeSecret creates path with mode 0600 and writes s to it; it fails
// when path exists.
func writeSecret(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // whatever the umask
		f.Close()
		return err
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func installURL(app App) string {
	if app.HTMLURL == "" {
		return ""
	}
	return strings.TrimRight(app.HTMLURL, "/") + "/installations/new"
}

func randomState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

type pair struct{ Key, Value string }

func sortedPairs(m map[string]string) []pair {
	var out []pair
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, pair{k, m[k]})
	}
	return out
}
