// Package githubapp is planbot's GitHub client. An App authenticates as the
// GitHub App with a JWT signed by its private key, and hands out one Client
// per installation. A Client authenticates with that installation's access
// token, which it caches and refreshes a minute before it expires, and
// exposes exactly the REST calls planbot makes, in planbot's own types.
//
// The REST root is configurable (GitHub Enterprise: https://HOST/api/v3/);
// every call is made relative to it, so tests point it at a fake server.
package githubapp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/metrics"
)

// DefaultAPIURL is GitHub's REST root.
const DefaultAPIURL = "https://api.github.com/"

// App is a GitHub App: it signs JWTs and creates installation clients.
type App struct {
	id     int64
	key    []byte
	apiURL *url.URL
	base   http.RoundTripper
	appsTr *ghinstallation.AppsTransport
	logger *slog.Logger
	dryRun bool

	mu      sync.Mutex // mu guards the fields below
	clients map[int64]*Client
	slug    string
}

// Options configures an App.
type Options struct {
	AppID int64
	// PrivateKey is the App's PEM-encoded RSA key.
	PrivateKey []byte
	// APIURL is the REST root with a trailing slash; DefaultAPIURL if empty.
	APIURL string
	// Transport is the underlying transport; http.DefaultTransport if nil.
	Transport http.RoundTripper
	// DryRun makes every write method log what it would do and return
	// without calling GitHub. Merge then returns an error wrapping
	// planbot.ErrDryRun; the other writes return as if they succeeded.
	DryRun bool
	// Calls, when set, counts every request sent to GitHub, as the App
	// and as its installations, by the class of its answer (see
	// NewCalls).
	Calls  *metrics.Counter
	Logger *slog.Logger
}

// New returns an App.
func New(opts Options) (*App, error) {
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(opts.APIURL, "/") {
		opts.APIURL += "/"
	}
	u, err := url.Parse(opts.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid GitHub API URL %q", opts.APIURL)
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Calls != nil {
		opts.Transport = counting{next: opts.Transport, calls: opts.Calls}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	atr, err := ghinstallation.NewAppsTransport(opts.Transport, opts.AppID, opts.PrivateKey)
	if err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "invalid GitHub App private key: %v", err)
	}
	atr.BaseURL = strings.TrimSuffix(opts.APIURL, "/")
	return &App{
		id: opts.AppID, key: opts.PrivateKey, apiURL: u, base: opts.Transport,
		appsTr: atr, logger: opts.Logger, dryRun: opts.DryRun,
		clients: map[int64]*Client{},
	}, nil
}

func (a *App) newGitHub(rt http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: rt})
	base := *a.apiURL
	c.BaseURL = &base
	c.UploadURL = &base
	c.UserAgent = "planbot"
	return c
}

// BotLogin returns the login the App comments as ("<slug>[bot]"), asking
// GitHub once (GET /app) and caching the answer.
func (a *App) BotLogin(ctx context.Context) (string, error) {
	a.mu.Lock()
	slug := a.slug
	a.mu.Unlock()
	if slug != "" {
		return slug + "[bot]", nil
	}
	app, resp, err := a.newGitHub(a.appsTr).Apps.Get(ctx, "")
	if err != nil {
		var hr *http.Response
		if resp != nil {
			hr = resp.Response
		}
		if rl := rateLimited(hr, err); rl != nil {
			err = rl
		}
		return "", fmt.Errorf("get authenticated app: %w", err)
	}
	slug = app.GetSlug()
	if slug == "" {
		return "", fmt.Errorf("get authenticated app: empty slug")
	}
	a.mu.Lock()
	a.slug = slug
	a.mu.Unlock()
	return slug + "[bot]", nil
}

// Installation returns the client of an installation. Clients are cached,
// so their tokens are reused until they near expiry.
func (a *App) Installation(id int64) *Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[id]; ok {
		return c
	}
	tr := ghinstallation.NewFromAppsTransport(a.appsTr, id)
	c := &Client{gh: a.newGitHub(tr), tr: tr, logger: a.logger, dryRun: a.dryRun}
	a.clients[id] = c
	return c
}
