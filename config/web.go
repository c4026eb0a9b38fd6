package config

import (
	"flag"
	"net/url"
	"os"
	"strings"

	"github.com/planbot/planbot"
)

// Web is the configuration of planbot's web page (package web).
type Web struct {
	// UI is "on" or "off". With "on" the page is served once the App's
	// OAuth client id is set.
	UI string
	// Addr, when set, is where the page is served instead of --addr.
	Addr string
	// ClientID and ClientSecretFile are the App's OAuth credentials,
	// for the login with GitHub.
	ClientID         string
	ClientSecretFile string
	// WebURL is GitHub's web root, where people authorize the login.
	WebURL string
	// ExternalURL is the page's address as browsers reach it; the OAuth
	// callback is ExternalURL + "/auth/callback", and comments and
	// statuses link to the page under it.
	ExternalURL string
}

// flags binds the web page's flags.
func (w *Web) flags(fs *flag.FlagSet) {
	fs.StringVar(&w.UI, "ui", "on", "the web page: on (served once --github-client-id is set) or off")
	fs.StringVar(&w.Addr, "ui-addr", "", "listen address of the web page (default: served on --addr)")
	fs.StringVar(&w.ClientID, "github-client-id", "", "the GitHub App's OAuth client id, for the web page's login with GitHub")
	fs.StringVar(&w.ClientSecretFile, "github-client-secret-file", "", "file holding the GitHub App's OAuth client secret")
	fs.StringVar(&w.WebURL, "github-web-url", "https://github.com/", "GitHub's web root, where people authorize the login (GitHub Enterprise: https://HOST/)")
	fs.StringVar(&w.ExternalURL, "external-url", "", "the web page's address as browsers reach it, such as https://planbot.example.com; comments and statuses link to it")
}

// Enabled reports whether the web page is served.
func (w Web) Enabled() bool { return w.UI == "on" && w.ClientID != "" }

// validate adds the web page's problems to p.
func (w Web) validate(p *problems, addr string) {
	p.check(w.UI != "on" && w.UI != "off", "--ui must be on or off, not %q", w.UI)
	p.check(!IsHTTPURL(w.WebURL), "--github-web-url must be an http(s) URL, not %q", w.WebURL)
	p.check(w.ExternalURL != "" && !IsHTTPURL(w.ExternalURL), "--external-url must be an http(s) URL such as https://planbot.example.com, not %q", w.ExternalURL)
	if !w.Enabled() {
		p.check(w.ExternalURL != "" && w.UI == "on", "--external-url links to the web page, which needs --github-client-id (and --github-client-secret-file)")
		return
	}
	p.check(w.ClientSecretFile == "", "--github-client-secret-file (PLANBOT_GITHUB_CLIENT_SECRET_FILE) is required with --github-client-id: the file holding the App's client secret")
	p.check(w.ExternalURL == "", "--external-url is required for the web page: GitHub sends the login back to <external-url>/auth/callback")
	p.check(w.Addr != "" && w.Addr == addr && !strings.HasSuffix(addr, ":0"), "--ui-addr must differ from --addr (leave it empty to serve the page on --addr)")
}

// IsHTTPURL reports whether s is an absolute http or https URL with a
// host.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// LoadClientSecret reads the App's client secret; nil when the page is
// not served.
func (w Web) LoadClientSecret() ([]byte, error) {
	if !w.Enabled() {
		return nil, nil
	}
	b, err := os.ReadFile(w.ClientSecretFile)
	if err != nil {
		return nil, planbot.Errorf(planbot.EINVALID, "read GitHub client secret: %v", err)
	}
	s := []byte(strings.TrimRight(string(b), "\r\n"))
	if len(s) == 0 {
		return nil, planbot.Errorf(planbot.EINVALID, "the GitHub client secret file %s is empty", w.ClientSecretFile)
	}
	return s, nil
}
