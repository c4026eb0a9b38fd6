package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/livelog"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/web"
)

// logRetention is how long live logs are kept.
const logRetention = 7 * 24 * time.Hour

// webPage returns the web page's handler, nil when it is not served.
func (m *Main) webPage(sec secured, app *githubapp.App, log *slog.Logger) (http.Handler, error) {
	o := m.Options
	if !o.Web.Enabled() {
		if o.Web.UI == "on" {
			log.Info("the web page is off: --github-client-id is not set")
		}
		return nil, nil
	}
	h := &web.Handler{
		ClientID: o.Web.ClientID, ClientSecret: sec.secrets.ClientSecret, WebURL: o.Web.WebURL, APIURL: o.GitHubAPIURL,
		ExternalURL: o.Web.ExternalURL,
		Plans:       m.store, Locks: m.store, Audit: m.store, Jobs: m.store, Logs: m.store, Health: m.store,
		GitHub: func(id int64) web.GitHub { return app.Installation(id) },
		Client: &http.Client{Timeout: 30 * time.Second},
		Info:   web.Info{Version: version(), Started: time.Now(), Workers: o.Workers, Sandbox: sec.sandbox.Confined(), DriftPass: drift.PassName},
		Logger: log,
	}
	if err := h.Init(); err != nil {
		return nil, err
	}
	return h, nil
}

// live wires the live logs and the page's links (from the plan comment
// and both statuses) into the flows when the page is served.
func (m *Main) live(sec secured, planner *runner.Planner, applier *runner.Applier, log *slog.Logger) {
	if !m.Options.Web.Enabled() {
		return
	}
	l := &livelog.Log{Store: m.store, Secrets: sec.masked, Logger: log}
	planner.Live, applier.Live = l, l
	pages := web.Links{Base: m.Options.Web.ExternalURL}
	planner.Pages, applier.Pages = pages, pages
}

// pruneLogs deletes the live logs older than logRetention every hour
// until ctx ends.
func (m *Main) pruneLogs(ctx context.Context, log *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := m.store.PruneLogs(ctx, time.Now().Add(-logRetention)); err != nil {
			log.Warn("prune live logs", "err", err)
		} else if n > 0 {
			log.Info("pruned live logs", "chunks", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// withWeb serves the page next to the webhook engine on one listener:
// the webhook's routes go to the engine, everything else to the page.
func withWeb(engine http.Handler, page http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/webhook", engine)
	mux.Handle("/healthz", engine)
	mux.Handle("/metrics", engine)
	mux.Handle("/", page)
	return mux
}

// listenWeb opens --ui-addr's listener when the page has its own.
func (m *Main) listenWeb() error {
	if !m.Options.Web.Enabled() || m.Options.Web.Addr == "" || m.webListener != nil {
		return nil
	}
	l, err := net.Listen("tcp", m.Options.Web.Addr)
	if err != nil {
		return err
	}
	m.webListener = l
	return nil
}

// WebAddr returns the address the web page is served on when --ui-addr
// is set, once listening; "" otherwise.
func (m *Main) WebAddr() string {
	if m.webListener == nil {
		return ""
	}
	return m.webListener.Addr().String()
}

// version is planbot's version and commit, from the build information.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
