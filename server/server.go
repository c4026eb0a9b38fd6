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
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/runner"
	"github.com/planbot/planbot/runner/kustomize"
	"github.com/planbot/planbot/runner/terraform"
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
}

// Addr returns the address the server listens on, once Run has started
// listening.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Listen opens the listening socket, so that callers learn the address
// (with --addr=127.0.0.1:0) before Run.
func (m *Main) Listen() error {
	if m.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", m.Options.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Options.Addr, err)
	}
	m.listener = l
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
		Store:        st,
		Bot:          app,
		Slots:        make(chan struct{}, o.Parallelism),
		AllowForkPRs: o.AllowForkPRs,
		Secrets:      []string{string(secrets.WebhookSecret)},
		Metrics:      runMetrics,
		Logger:       log,
	}
	handler := &runner.Handler{
		GitHub:  func(id int64) runner.GitHub { return app.Installation(id) },
		Planner: planner,
		Applier: &runner.Applier{Planner: planner, Terraform: tf, Base: ws, MergeMethod: o.MergeMethod, Metrics: runMetrics, Logger: log},
		Logger:  log,
	}
	queue := &runner.Queue{
		Jobs: st, Handle: handler.Handle, Workers: o.Workers, Lease: o.JobLease, Backoff: runner.BackoffFrom(o.RetryBackoff),
		JobTimeout: o.JobTimeout, DrainTimeout: o.DrainTimeout, Metrics: runMetrics, Logger: log,
	}
	hook := &webhook.Handler{
		Secret: secrets.WebhookSecret, Queue: st, AllowRepo: o.AllowRepo, Notify: queue.Notify,
		Deliveries: webhook.NewDeliveries(reg), Metrics: reg.Handler(), Logger: log,
	}
	if err := m.Listen(); err != nil {
		return err
	}
	srv := &http.Server{Handler: webhook.NewEngine(hook), ReadHeaderTimeout: 10 * time.Second}
	log.Info("planbot server starting", "addr", m.Addr(), "config", o.String(), "bot", bot)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
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
		if err := srv.Shutdown(sctx); err != nil {
			// Requests still open after the grace period are cut; that
			// does not make the shutdown a failure.
			log.Warn("closing HTTP connections", "err", err)
		}
		return nil
	})
	err = g.Wait()
	log.Info("planbot server stopped")
	return err
}

// Close releases the store.
func (m *Main) Close() error {
	if m.store != nil {
		return m.store.Close()
	}
	return nil
}
