// Package server composes planbot's long-running process: it opens the
// store, authenticates as the GitHub App, serves webhooks over HTTP, runs
// the job queue and has GitHub redeliver webhooks that failed while planbot
// was down, and shuts all of it down in order on a signal. Main is used
// by cmd/planbot and by the end-to-end tests, which run the real server
// in-process or as a subprocess.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/credentials"
	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/logmask"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/sandbox"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/postgres"
	"github.com/planbot/planbot/store/sqlite"
	"github.com/planbot/planbot/webhook"
	"github.com/planbot/planbot/workspaces"
)

// OpenStore opens the store a --database value names: a postgres:// URL or
// a SQLite file.
func OpenStore(ctx context.Context, database string, logger *slog.Logger) (store.Store, error) {
	if config.IsPostgres(database) {
		return postgres.Open(ctx, database, logger)
	}
	return sqlite.Open(ctx, database, logger)
}

// Main is a configured planbot server.
type Main struct {
	Options  config.Server
	Logger   *slog.Logger
	store    store.Store
	listener net.Listener
	// metricsListener serves /metrics when Options.MetricsAddr is set.
	metricsListener net.Listener
	// webListener serves the web page when Options.Web.Addr is set.
	webListener net.Listener
	// SandboxHelper, when set, is the sandbox helper terraform is started
	// through (a planbot-sandbox built elsewhere); unset, sandbox.New
	// finds it next to planbot's executable.
	SandboxHelper string
	// workspaces holds the repository caches; Close stops their git
	// object readers.
	workspaces *workspaces.Manager
}

// Addr returns the address the server listens on, once Run has started
// listening.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// MetricsAddr returns the address /metrics is served on when
// --metrics-addr is set, once Run has started listening; "" otherwise.
func (m *Main) MetricsAddr() string {
	if m.metricsListener == nil {
		return ""
	}
	return m.metricsListener.Addr().String()
}

// Listen opens the listening sockets, so that callers learn the addresses
// (with --addr=127.0.0.1:0) before Run.
func (m *Main) Listen() error {
	if m.listener == nil {
		l, err := net.Listen("tcp", m.Options.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", m.Options.Addr, err)
		}
		m.listener = l
	}
	if m.Options.MetricsAddr != "" && m.metricsListener == nil {
		l, err := net.Listen("tcp", m.Options.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for metrics: %w", m.Options.MetricsAddr, err)
		}
		m.metricsListener = l
	}
	if err := m.listenWeb(); err != nil {
		return fmt.Errorf("listen on %s for the web page: %w", m.Options.Web.Addr, err)
	}
	return nil
}

// Run serves until ctx is cancelled, then stops accepting webhooks, drains
// the queue and returns.
func (m *Main) Run(ctx context.Context) error {
	sec, log, err := m.secure()
	if err != nil {
		return err
	}
	if err := m.openStore(ctx, log); err != nil {
		return err
	}
	// Metrics are per process: each replica serves its own on /metrics.
	reg := metrics.New()
	reg.AddRuntime()
	app, bot, err := m.connectGitHub(ctx, sec, githubapp.NewCalls(reg), log)
	if err != nil {
		return err
	}
	runMetrics := runner.NewMetrics(reg)
	handler, detector, err := m.flows(ctx, sec, app, runMetrics, log)
	if err != nil {
		return err
	}
	detector.Metrics = drift.NewMetrics(reg)
	m.live(sec, handler.Planner, handler.Applier, log)
	page, err := m.webPage(sec, app, log)
	if err != nil {
		return err
	}
	queue := &runner.Queue{
		Jobs: m.store, Handle: handler.Handle, Workers: m.Options.Workers, Lease: m.Options.JobLease,
		Backoff: runner.BackoffFrom(m.Options.RetryBackoff), JobTimeout: m.Options.JobTimeout,
		DrainTimeout: m.Options.DrainTimeout, Metrics: runMetrics, Logger: log,
	}
	servers, err := m.servers(sec, reg, queue, app, page, log)
	if err != nil {
		return err
	}
	log.Info("planbot server starting", "addr", m.Addr(), "metrics_addr", m.MetricsAddr(), "config", m.Options.String(), "bot", bot)
	err = m.serve(ctx, servers, queue, runMetrics, app, detector, log)
	log.Info("planbot server stopped")
	return err
}

// secured is what Run keeps away from pull request code and logs.
type secured struct {
	secrets config.Secrets
	sandbox *sandbox.Sandbox
	creds   *credentials.Set
	// masked are the values masked in every comment, stored result and
	// log record.
	masked []string
}

// secure reads the secrets, confines terraform, and returns the logger
// that masks every secret from here on.
func (m *Main) secure() (secured, *slog.Logger, error) {
	var sec secured
	var err error
	if sec.secrets, err = m.Options.LoadSecrets(); err != nil {
		return sec, nil, err
	}
	if sec.sandbox, sec.creds, err = confine(m.Options, m.SandboxHelper, m.Logger); err != nil {
		return sec, nil, err
	}
	sec.masked = append(sec.secrets.Masked(), maskable(sec.creds.Values())...)
	// From here on nothing logs a secret: the server's secrets and every
	// credential are masked in every record.
	log := slog.New(logmask.New(m.Logger.Handler(), func(s string) string { return redact.String(s, sec.masked) }))
	return sec, log, nil
}

// openStore creates the data dir and opens the store.
func (m *Main) openStore(ctx context.Context, log *slog.Logger) error {
	if err := os.MkdirAll(m.Options.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	st, err := OpenStore(ctx, m.Options.Database, log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	m.store = st
	return nil
}

// connectGitHub authenticates as the App and returns its bot login, ""
// while GitHub cannot be reached.
func (m *Main) connectGitHub(ctx context.Context, sec secured, calls *metrics.Counter, log *slog.Logger) (*githubapp.App, string, error) {
	o := m.Options
	app, err := githubapp.New(githubapp.Options{
		AppID: o.GitHubAppID, PrivateKey: sec.secrets.AppKey, APIURL: o.GitHubAPIURL, DryRun: o.DryRun, Calls: calls, Logger: log,
	})
	if err != nil {
		return nil, "", err
	}
	// GitHub being unreachable must not stop planbot from storing
	// webhooks: the bot's login is looked up again when a job needs it.
	bot, err := app.BotLogin(ctx)
	if err != nil {
		log.Warn("cannot reach GitHub as the App yet; webhooks are stored and jobs retried", "err", err)
	}
	return app, bot, nil
}

// flows builds the plan, apply and command flows, each with the parts of
// the store and of GitHub it uses, and the handler that routes jobs to
// them.
func (m *Main) flows(ctx context.Context, sec secured, app *githubapp.App, runMetrics *runner.Metrics, log *slog.Logger) (*runner.Handler, *drift.Detector, error) {
	o, st := m.Options, m.store
	def, others, err := terraform.FindBinaries(ctx, o.TerraformBin)
	if err != nil {
		return nil, nil, err
	}
	log.Info("terraform engines", "default", def.Engine.Name(), "bin", def.Path, "others", fmt.Sprint(others))
	ws, err := workspaces.New(filepath.Join(o.DataDir), log)
	if err != nil {
		return nil, nil, err
	}
	m.workspaces = ws
	tf := &terraform.Runner{
		Bin:            def.Path,
		Engine:         def.Engine,
		Others:         others,
		PluginCacheDir: filepath.Join(o.DataDir, "plugin-cache"),
		EnvAllowlist:   o.EnvAllowlist,
		Sandbox:        sec.sandbox,
		DryRun:         o.DryRun,
		InitCache:      &terraform.InitCache{Dir: filepath.Join(o.DataDir, "init-cache")},
		Versions:       &terraform.VersionMemo{},
		Logger:         log,
	}
	renders, err := kustomize.NewCache(filepath.Join(o.DataDir, "kustomize-cache"))
	if err != nil {
		return nil, nil, err
	}
	slots := runner.NewSlots(o.Parallelism)
	planner := &runner.Planner{
		Workspaces: ws, Terraform: tf, Kustomize: kustomize.Options{Cache: renders, Renders: make(chan struct{}, runtime.GOMAXPROCS(0)), Logger: log},
		Locks: st, Plans: st, Audit: st, Bot: app, Comments: st,
		Slots: slots, AllowForkPRs: o.AllowForkPRs,
		Secrets: sec.masked, Credentials: sec.creds, Unsandboxed: !sec.sandbox.Confined(),
		Metrics: runMetrics, Checks: o.Checks, Logger: log,
	}
	applier := &runner.Applier{
		Workspaces: ws, Terraform: tf, Credentials: sec.creds, Base: ws,
		Locks: st, Plans: st, Audit: st, Bot: app, Comments: st, Secrets: sec.masked,
		MergeMethod: o.MergeMethod, Metrics: runMetrics, Checks: o.Checks, Logger: log,
	}
	// Drift plans share the PR plans' slots, and yield them to PR plans.
	detector := &drift.Detector{
		App: app, GitHub: func(id int64) drift.GitHub { return app.Installation(id) },
		Workspaces: ws, Terraform: tf, Credentials: sec.creds, Slots: slots, Audit: st,
		AllowRepo: o.AllowRepo, Secrets: sec.masked, Unsandboxed: !sec.sandbox.Confined(),
		Logger: log,
	}
	return &runner.Handler{
		GitHub:  func(id int64) runner.GitHub { return app.Installation(id) },
		Planner: planner,
		Applier: applier,
		Locks:   st, Plans: st, Audit: st, Secrets: sec.masked,
		Releaser:  &runner.Releaser{Audit: st, Bot: app, Logger: log},
		TagGitHub: func(id int64) runner.TagGitHub { return app.Installation(id) },
		Results:   st,
		Logger:    log,
	}, detector, nil
}

// servers builds the webhook server and, with --metrics-addr, the metrics
// server, and opens their listeners.
func (m *Main) servers(sec secured, reg *metrics.Registry, queue *runner.Queue, app *githubapp.App, page http.Handler, log *slog.Logger) (map[string]*http.Server, error) {
	o := m.Options
	hook := &webhook.Handler{
		Secret: sec.secrets.WebhookSecret, Queue: m.store, AllowRepo: o.AllowRepo, Notify: queue.Notify,
		Deliveries: webhook.NewDeliveries(reg), MaxInFlight: o.MaxInflightWebhooks,
		InFlight: webhook.NewInFlight(reg), Releases: m.releaseAPI(sec, app, queue, log), Logger: log,
	}
	timeouts := webhook.Timeouts{ReadHeader: o.ReadHeaderTimeout, Read: o.ReadTimeout, Write: o.WriteTimeout, Idle: o.IdleTimeout}
	servers := map[string]*http.Server{}
	if o.MetricsAddr == "" {
		hook.Metrics = reg.Handler()
	} else {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		servers["metrics"] = webhook.NewServer(mux, timeouts)
	}
	if err := m.Listen(); err != nil {
		return nil, err
	}
	var root http.Handler = webhook.NewEngine(hook)
	if page != nil && o.Web.Addr == "" {
		root = withWeb(root, page)
	} else if page != nil {
		servers["web"] = webhook.NewServer(page, timeouts)
	}
	servers["webhook"] = webhook.NewServer(root, timeouts)
	return servers, nil
}

// serve runs the servers, the queue, the redeliverer and the janitor
// until ctx is cancelled or one of them fails, then shuts the servers
// down and waits for everything to return.
func (m *Main) serve(ctx context.Context, servers map[string]*http.Server, queue *runner.Queue, runMetrics *runner.Metrics, app *githubapp.App, detector *drift.Detector, log *slog.Logger) error {
	o := m.Options
	g, gctx := errgroup.WithContext(ctx)
	for name, srv := range servers {
		l := m.listener
		switch name {
		case "metrics":
			l = m.metricsListener
		case "web":
			l = m.webListener
		}
		g.Go(func() error {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve %s: %w", name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return queue.Run(gctx) })
	depth := &runner.Depth{Jobs: m.store, Metrics: runMetrics, Logger: log}
	g.Go(func() error { return depth.Run(gctx) })
	if o.RedeliverInterval > 0 {
		// GitHub never retries a failed delivery: ask it to redeliver the
		// ones sent while planbot was down.
		r := &runner.Redeliverer{GitHub: app, Interval: o.RedeliverInterval, Logger: log}
		g.Go(func() error { return r.Run(gctx) })
	}
	if o.JobRetention > 0 {
		// Finished jobs hold whole webhook payloads: prune them once
		// GitHub can no longer redeliver them.
		jan := &runner.Janitor{Jobs: m.store, Retention: o.JobRetention, Interval: runner.DefaultJanitorInterval, Logger: log}
		g.Go(func() error { return jan.Run(gctx) })
	}
	if sched, _ := drift.ParseSchedule(o.DriftSchedule); sched != nil {
		// Every replica schedules; the store lets one run each pass.
		s := &drift.Scheduler{
			Schedule: sched, Lease: m.store, LeaseTTL: o.JobLease, Logger: log,
			Pass: func(ctx context.Context, w drift.Window) error {
				_, err := detector.Pass(ctx, w)
				return err
			},
		}
		g.Go(func() error { return s.Run(gctx) })
	}
	if o.Web.Enabled() {
		g.Go(func() error { return m.pruneLogs(gctx, log) })
	}
	g.Go(func() error {
		<-gctx.Done()
		shutdown(ctx, servers, log)
		return nil
	})
	return g.Wait()
}

// shutdown closes the servers, giving open requests a grace period.
func shutdown(ctx context.Context, servers map[string]*http.Server, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for name, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			// Requests still open after the grace period are cut; that
			// does not make the shutdown a failure.
			log.Warn("closing HTTP connections", "server", name, "err", err)
		}
	}
}

// confine sets up what keeps pull request code away from planbot's
// secrets: the sandbox terraform runs in (refusing to start when
// --sandbox=landlock cannot be enforced, or when a secret lies where the
// sandbox lets terraform read), the plan and apply credentials, and a
// process that others of the same user cannot inspect. helper, when not
// empty, replaces the helper sandbox.New found.
func confine(o config.Server, helper string, log *slog.Logger) (*sandbox.Sandbox, *credentials.Set, error) {
	sb, err := sandbox.New(o.Sandbox)
	if err != nil {
		return nil, nil, err
	}
	if helper != "" {
		sb.Helper = helper
	}
	db := o.Database
	if config.IsPostgres(db) {
		db = ""
	}
	if err := sb.Exposed(o.GitHubAppKeyFile, o.WebhookSecretFile, o.DataDir, db, o.CredentialsDir, o.APITokenFile, o.Web.ClientSecretFile); err != nil {
		return nil, nil, err
	}
	if !sb.Confined() {
		log.Warn("terraform runs without a sandbox (--sandbox=off): plans can read whatever planbot's user can")
	}
	creds, err := credentials.Load(o.CredentialsDir)
	if err != nil {
		return nil, nil, err
	}
	if err := sandbox.SetNonDumpable(); err != nil {
		return nil, nil, err
	}
	return sb, creds, nil
}

// minMasked is the shortest credential value that is masked: shorter ones
// ("1", "eu") would mask unrelated text everywhere.
const minMasked = 4

// maskable returns the values at least minMasked long.
func maskable(values []string) []string {
	var out []string
	for _, v := range values {
		if len(v) >= minMasked {
			out = append(out, v)
		}
	}
	return out
}

// Close releases the store, and the listening sockets if Run did not get
// to serve them.
func (m *Main) Close() error {
	for _, l := range []net.Listener{m.listener, m.metricsListener, m.webListener} {
		if l != nil {
			l.Close() // already closed when Run served it
		}
	}
	if m.workspaces != nil {
		m.workspaces.Close()
	}
	if m.store != nil {
		return m.store.Close()
	}
	return nil
}
