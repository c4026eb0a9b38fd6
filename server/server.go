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
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/credentials"
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
	return nil
}

// Run serves until ctx is cancelled, then stops accepting webhooks, drains
// the queue and returns.
func (m *Main) Run(ctx context.Context) error {
	o := m.Options
	log := m.Logger
	secrets, err := o.LoadSecrets()
	if err != nil {
		return err
	}
	sb, creds, err := confine(o, log)
	if err != nil {
		return err
	}
	masked := append([]string{string(secrets.WebhookSecret)}, maskable(creds.Values())...)
	// From here on nothing logs a secret: the webhook secret and every
	// credential are masked in every record.
	log = slog.New(logmask.New(log.Handler(), func(s string) string { return redact.String(s, masked) }))
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	st, err := OpenStore(ctx, o.Database, log)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	m.store = st

	app, err := githubapp.New(githubapp.Options{
		AppID: o.GitHubAppID, PrivateKey: secrets.AppKey, APIURL: o.GitHubAPIURL, DryRun: o.DryRun, Logger: log,
	})
	if err != nil {
		return err
	}
	// GitHub being unreachable must not stop planbot from storing
	// webhooks: the bot's login is looked up again when a job needs it.
	bot, err := app.BotLogin(ctx)
	if err != nil {
		log.Warn("cannot reach GitHub as the App yet; webhooks are stored and jobs retried", "err", err)
	}
	tfBin, err := terraform.FindBinary(ctx, o.TerraformBin)
	if err != nil {
		return err
	}
	ws, err := workspaces.New(filepath.Join(o.DataDir), log)
	if err != nil {
		return err
	}
	tf := &terraform.Runner{
		Bin:            tfBin,
		PluginCacheDir: filepath.Join(o.DataDir, "plugin-cache"),
		EnvAllowlist:   o.EnvAllowlist,
		Sandbox:        sb,
		DryRun:         o.DryRun,
		Logger:         log,
	}
	// Metrics are per process: each replica serves its own on /metrics.
	reg := metrics.New()
	runMetrics := runner.NewMetrics(reg)
	renders, err := kustomize.NewCache(filepath.Join(o.DataDir, "kustomize-cache"))
	if err != nil {
		return err
	}
	planner := &runner.Planner{
		Workspaces:   ws,
		Terraform:    tf,
		Kustomize:    kustomize.Options{Cache: renders, Logger: log},
		Locks:        st,
		Plans:        st,
		Audit:        st,
		Bot:          app,
		Slots:        make(chan struct{}, o.Parallelism),
		AllowForkPRs: o.AllowForkPRs,
		Secrets:      masked,
		Credentials:  creds,
		Unsandboxed:  !sb.Confined(),
		Metrics:      runMetrics,
		Logger:       log,
	}
	handler := &runner.Handler{
		GitHub:  func(id int64) runner.GitHub { return app.Installation(id) },
		Planner: planner,
		Applier: &runner.Applier{
			Workspaces: ws, Terraform: tf, Credentials: creds, Base: ws,
			Locks: st, Plans: st, Audit: st, Bot: app, Secrets: masked,
			MergeMethod: o.MergeMethod, Metrics: runMetrics, Logger: log,
		},
		Locks: st, Plans: st, Audit: st, Secrets: masked,
		Logger: log,
	}
	queue := &runner.Queue{
		Jobs: st, Handle: handler.Handle, Workers: o.Workers, Lease: o.JobLease, Backoff: runner.BackoffFrom(o.RetryBackoff),
		JobTimeout: o.JobTimeout, DrainTimeout: o.DrainTimeout, Metrics: runMetrics, Logger: log,
	}
	hook := &webhook.Handler{
		Secret: secrets.WebhookSecret, Queue: st, AllowRepo: o.AllowRepo, Notify: queue.Notify,
		Deliveries: webhook.NewDeliveries(reg), MaxInFlight: o.MaxInflightWebhooks,
		InFlight: webhook.NewInFlight(reg), Logger: log,
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
		return err
	}
	servers["webhook"] = webhook.NewServer(webhook.NewEngine(hook), timeouts)
	log.Info("planbot server starting", "addr", m.Addr(), "metrics_addr", m.MetricsAddr(), "config", o.String(), "bot", bot)

	g, gctx := errgroup.WithContext(ctx)
	for name, srv := range servers {
		l := m.listener
		if name == "metrics" {
			l = m.metricsListener
		}
		g.Go(func() error {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve %s: %w", name, err)
			}
			return nil
		})
	}
	g.Go(func() error { return queue.Run(gctx) })
	if o.RedeliverInterval > 0 {
		// GitHub never retries a failed delivery: ask it to redeliver the
		// ones sent while planbot was down.
		r := &runner.Redeliverer{GitHub: app, Interval: o.RedeliverInterval, Logger: log}
		g.Go(func() error { return r.Run(gctx) })
	}
	if o.JobRetention > 0 {
		// Finished jobs hold whole webhook payloads: prune them once
		// GitHub can no longer redeliver them.
		jan := &runner.Janitor{Jobs: st, Retention: o.JobRetention, Interval: runner.DefaultJanitorInterval, Logger: log}
		g.Go(func() error { return jan.Run(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for name, srv := range servers {
			if err := srv.Shutdown(sctx); err != nil {
				// Requests still open after the grace period are cut;
				// that does not make the shutdown a failure.
				log.Warn("closing HTTP connections", "server", name, "err", err)
			}
		}
		return nil
	})
	err = g.Wait()
	log.Info("planbot server stopped")
	return err
}

// confine sets up what keeps pull request code away from planbot's
// secrets: the sandbox terraform runs in (refusing to start when
// --sandbox=landlock cannot be enforced, or when a secret lies where the
// sandbox lets terraform read), the plan and apply credentials, and a
// process that others of the same user cannot inspect.
func confine(o config.Server, log *slog.Logger) (*sandbox.Sandbox, *credentials.Set, error) {
	sb, err := sandbox.New(o.Sandbox)
	if err != nil {
		return nil, nil, err
	}
	db := o.Database
	if config.IsPostgres(db) {
		db = ""
	}
	if err := sb.Exposed(o.GitHubAppKeyFile, o.WebhookSecretFile, o.DataDir, db, o.CredentialsDir); err != nil {
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
	for _, l := range []net.Listener{m.listener, m.metricsListener} {
		if l != nil {
			l.Close() // already closed when Run served it
		}
	}
	if m.store != nil {
		return m.store.Close()
	}
	return nil
}
