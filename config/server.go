// Package config holds planbot's configuration: the server's options, read
// from flags with PLANBOT_* environment twins, validated in one place. Secrets
// are read from files (or, for the webhook secret, one environment variable)
// and never logged.
package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/sandbox"
)

// Server is the configuration of `planbot server`.
type Server struct {
	Addr string
	// MetricsAddr, when set, is the address /metrics is served on instead
	// of Addr, so that the metrics need not be reachable where GitHub's
	// webhooks arrive.
	MetricsAddr       string
	DataDir           string
	GitHubAPIURL      string
	GitHubAppID       int64
	GitHubAppKeyFile  string
	WebhookSecretFile string
	// Database is a postgres:// URL or a SQLite file path; empty means
	// <DataDir>/planbot.db.
	Database      string
	RepoAllowlist []string
	TerraformBin  string
	// Workers is how many queued deliveries are processed at once.
	Workers int
	// Parallelism bounds how many projects plan at once, across all PRs.
	Parallelism  int
	JobTimeout   time.Duration
	DrainTimeout time.Duration
	// JobLease is how long a claimed job stays with a replica that stops
	// renewing it (because it died) before another claims it.
	JobLease time.Duration
	// RetryBackoff is how long a failed job waits before its first retry;
	// later retries wait twice as long each time, up to 40 times it.
	RetryBackoff time.Duration
	// RedeliverInterval is how often the App's failed webhook deliveries
	// are looked up and redelivered; 0 turns that off.
	RedeliverInterval time.Duration
	// JobRetention is how long a finished job (a stored delivery) is kept
	// before it is pruned; 0 keeps jobs forever. It must exceed GitHub's
	// 3-day redelivery window: a delivery pruned sooner could be
	// redelivered and run again.
	JobRetention time.Duration
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout
	// the whole request, body included, WriteTimeout everything from the
	// end of the headers to the end of the response, and IdleTimeout how
	// long a kept-alive connection waits for its next request.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxInflightWebhooks bounds the webhook requests handled at once;
	// beyond it a delivery is answered 503, which GitHub records as failed
	// and the redeliverer sends again.
	MaxInflightWebhooks int
	// EnvAllowlist names extra, non-secret variables passed to terraform.
	EnvAllowlist []string
	// Sandbox is how terraform is confined: "landlock" or "off".
	Sandbox sandbox.Mode
	// CredentialsDir holds plan.env and apply.env (and per-repository
	// overrides): the secret environment of plans and of applies.
	CredentialsDir string
	AllowForkPRs   bool
	MergeMethod    string
	// DriftSchedule is when drift passes run: a 5-field cron expression
	// (descriptors such as @daily and @every 6h are accepted too), or
	// "off".
	DriftSchedule string
	// DryRun makes planbot's side effects no-ops in the adapters that
	// have them: no GitHub writes, no terraform apply, no merge.
	DryRun bool
	// APITokenFile holds the bearer token of the release API; without it
	// the API is off.
	APITokenFile string
	// ReleaseWait bounds how long POST /api/v1/releases waits for its
	// pull request before answering 202 with an id to poll; the server
	// waits at most half of WriteTimeout, so that the answer is written.
	ReleaseWait time.Duration
	// Checks reports whether every project gets check runs (with Apply
	// and Re-plan buttons) next to the commit statuses: --checks=on|off.
	Checks bool
	// Web configures the web page.
	Web Web

	// webhookSecretEnv is PLANBOT_WEBHOOK_SECRET, read once at parse time.
	webhookSecretEnv string
	// noWebhooks is set for `planbot drift`, which receives no webhooks
	// and so needs no webhook secret.
	noWebhooks bool
}

// minJobRetention is GitHub's redelivery window: a delivery can be
// redelivered for 3 days, so its job must be kept at least that long to
// recognise the redelivery as a duplicate.
const minJobRetention = 72 * time.Hour

// EnvName returns the environment twin of a flag: --data-dir is
// PLANBOT_DATA_DIR.
func EnvName(flagName string) string {
	return "PLANBOT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// onOff is a switch given as on or off.
type onOff struct{ p *bool }

func (v onOff) String() string {
	if v.p != nil && *v.p {
		return "on"
	}
	return "off"
}

func (v onOff) Set(s string) error {
	switch s {
	case "on", "off":
		*v.p = s == "on"
		return nil
	}
	return fmt.Errorf("not on or off: %q", s)
}

// Expects says what an onOff takes, for the problem of a bad value.
func (onOff) Expects() string { return "on or off" }

type listValue struct{ p *[]string }

func (l listValue) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listValue) Set(s string) error {
	*l.p = nil
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l.p = append(*l.p, v)
		}
	}
	return nil
}

// ParseServer parses the flags of `planbot server`. A flag that is not given
// takes its environment twin, read through getenv, and then its default.
// Values that do not parse and options that do not validate are reported
// together, one per line. -h returns flag.ErrHelp; WriteServerUsage prints
// the help.
func ParseServer(args []string, getenv func(string) string) (Server, error) {
	var o Server
	var p problems
	if err := o.parseShared(o.flags, args, getenv, &p); err != nil {
		return Server{}, err
	}
	o.webhookSecretEnv = getenv("PLANBOT_WEBHOOK_SECRET")
	o.validate(&p)
	if err := p.err(); err != nil {
		return Server{}, err
	}
	return o, nil
}

// parseShared parses args into the flag set that flags binds (o's flags,
// alone or among others, and --sandbox to sandboxMode), as planbot server
// and planbot drift both do: a flag not given takes its environment twin,
// read through getenv, and then its default. Problems go to p; the error
// is flag.ErrHelp for -h, or an unknown flag.
func (o *Server) parseShared(flags func(sandboxMode *string) *flag.FlagSet, args []string, getenv func(string) string, p *problems) error {
	var sandboxMode string
	fs := flags(&sandboxMode)
	if err := parseLenient(fs, args, getenv, p); err != nil {
		return err
	}
	p.check(fs.NArg() > 0, "unexpected arguments: %s", strings.Join(fs.Args(), " "))
	if mode, err := sandbox.ParseMode(sandboxMode); err != nil {
		p.add("--sandbox must be landlock or off: %v", err)
	} else {
		o.Sandbox = mode
	}
	if o.Database == "" {
		o.Database = filepath.Join(o.DataDir, "planbot.db")
	}
	return nil
}

// serverSynopsis and serverAbout head `planbot server -h`.
const (
	serverSynopsis = "planbot server [flags]"
	serverAbout    = `Runs the GitHub App: receives webhooks at /webhook, stores them, and plans
and applies pull requests with its workers. docs/configuration.md describes
every flag; planbot setup creates the App and prints the flags to start with.
The webhook secret may also come from PLANBOT_WEBHOOK_SECRET.`
)

// WriteServerUsage writes the help of `planbot server`: every flag with its
// environment twin.
func WriteServerUsage(w io.Writer) {
	var o Server
	var mode string
	WriteUsage(w, serverSynopsis, serverAbout, o.flags(&mode), true)
}

// flags returns the flag set of `planbot server`, bound to o's fields;
// --sandbox is bound to sandboxMode, parsed afterwards.
func (o *Server) flags(sandboxMode *string) *flag.FlagSet {
	fs := NewFlagSet("planbot server")
	fs.StringVar(&o.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "listen address of /metrics (default: served on --addr)")
	fs.DurationVar(&o.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time limit for reading a request's headers")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 30*time.Second, "time limit for reading a whole request, body included")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", 60*time.Second, "time limit from the end of a request's headers to the end of its response")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle kept-alive connection stays open")
	fs.IntVar(&o.MaxInflightWebhooks, "max-inflight-webhooks", 32, "webhook requests handled at once; more are answered 503 and redelivered later")
	fs.StringVar(&o.DataDir, "data-dir", "./planbot-data", "directory for the database, git caches and workspaces")
	fs.StringVar(&o.GitHubAPIURL, "github-api-url", "https://api.github.com/", "GitHub REST root (GitHub Enterprise: https://HOST/api/v3/)")
	fs.Int64Var(&o.GitHubAppID, "github-app-id", 0, "GitHub App ID")
	fs.StringVar(&o.GitHubAppKeyFile, "github-app-key-file", "", "file holding the GitHub App's PEM private key")
	fs.StringVar(&o.WebhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (or set PLANBOT_WEBHOOK_SECRET)")
	fs.StringVar(&o.Database, "database", "", "postgres:// URL, or SQLite file (default <data-dir>/planbot.db)")
	fs.Var(listValue{&o.RepoAllowlist}, "repo-allowlist", "comma-separated owner/repo globs; events from other repos are ignored (default all)")
	fs.StringVar(&o.TerraformBin, "terraform-bin", "", "terraform binary (default: found on PATH)")
	fs.IntVar(&o.Workers, "workers", 8, "deliveries processed at once")
	fs.IntVar(&o.Parallelism, "parallelism", 4, "projects planned at once, across all PRs")
	fs.DurationVar(&o.JobTimeout, "job-timeout", 30*time.Minute, "time limit of one job")
	fs.DurationVar(&o.JobLease, "job-lease", time.Minute, "how long a crashed replica's job waits before it runs again")
	fs.DurationVar(&o.RetryBackoff, "retry-backoff", 15*time.Second, "wait before a failed job's first retry (doubling after each failure, up to 40 times it)")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 5*time.Minute, "on SIGTERM, how long in-flight jobs may finish")
	fs.DurationVar(&o.RedeliverInterval, "redeliver-interval", 5*time.Minute, "how often webhook deliveries that failed (in the last 3 days) are redelivered; 0 turns it off")
	fs.DurationVar(&o.JobRetention, "job-retention", 168*time.Hour, "how long finished jobs (stored webhook deliveries) are kept; at least 72h, GitHub's redelivery window; 0 keeps them forever")
	fs.Var(listValue{&o.EnvAllowlist}, "terraform-env-allowlist", "comma-separated names of non-secret environment variables passed to terraform (secrets go in --credentials-dir)")
	fs.StringVar(sandboxMode, "sandbox", string(sandbox.ModeLandlock), "confine terraform: landlock, or off (plans can then read whatever planbot's user can)")
	fs.StringVar(&o.CredentialsDir, "credentials-dir", "", "directory with plan.env and apply.env (KEY=VALUE), and optional OWNER/REPO/plan.env and apply.env: terraform's credentials for plans and for applies")
	fs.BoolVar(&o.AllowForkPRs, "allow-fork-prs", false, "plan PRs from forks (runs code from outside the repository)")
	fs.StringVar(&o.MergeMethod, "merge-method", "", "merge, squash or rebase (default: the first the repository allows; .planbot.yaml merge_method wins)")
	fs.StringVar(&o.DriftSchedule, "drift-schedule", "off", "when to look for drift on every repository's default branch: a 5-field cron expression (or @daily, @every 6h), or off")
	fs.BoolVar(&o.DryRun, "dry-run", false, "never run terraform apply, merge or write to GitHub; log and audit what would be done")
	fs.StringVar(&o.APITokenFile, "api-token-file", "", "file holding the bearer token of the release API, POST /api/v1/releases (default: the API is off)")
	fs.DurationVar(&o.ReleaseWait, "release-wait", 20*time.Second, "how long POST /api/v1/releases waits for its pull request before answering 202 with an id to poll (at most half of --write-timeout)")
	o.Checks = true
	fs.Var(onOff{&o.Checks}, "checks", "a check run per project (with Apply and Re-plan buttons) next to the commit statuses: `on|off`")
	o.Web.flags(fs)
	return fs
}

// Validate reports every problem with the options at once, one per line,
// each saying what the option expects.
func (o Server) Validate() error {
	var p problems
	o.validate(&p)
	return p.err()
}

// validate adds the problems of the options to p.
func (o Server) validate(p *problems) {
	p.check(o.Addr == "", "--addr must not be empty")
	p.check(o.MetricsAddr != "" && o.MetricsAddr == o.Addr && !strings.HasSuffix(o.Addr, ":0"), "--metrics-addr must differ from --addr (leave it empty to serve /metrics on --addr)")
	if o.ReadHeaderTimeout <= 0 || o.ReadTimeout <= 0 || o.WriteTimeout <= 0 || o.IdleTimeout <= 0 {
		p.add("--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must be positive")
	} else {
		p.check(o.ReadHeaderTimeout > o.ReadTimeout, "--read-header-timeout (%v) must not exceed --read-timeout (%v)", o.ReadHeaderTimeout, o.ReadTimeout)
		p.check(o.WriteTimeout < o.ReadTimeout, "--write-timeout (%v) must be at least --read-timeout (%v): it runs from the end of the headers, so a body read takes from it", o.WriteTimeout, o.ReadTimeout)
	}
	p.check(o.MaxInflightWebhooks < 1, "--max-inflight-webhooks must be at least 1")
	p.check(o.ReleaseWait < 0, "--release-wait must not be negative")
	p.check(o.DataDir == "", "--data-dir must not be empty")
	p.check(o.GitHubAppID <= 0, "--github-app-id (PLANBOT_GITHUB_APP_ID) is required: the App ID, a number from the App's settings page")
	p.check(o.GitHubAppKeyFile == "", "--github-app-key-file (PLANBOT_GITHUB_APP_KEY_FILE) is required: the file holding the App's PEM private key")
	p.check(!o.noWebhooks && o.WebhookSecretFile == "" && o.webhookSecretEnv == "", "a webhook secret is required: set --webhook-secret-file or PLANBOT_WEBHOOK_SECRET; planbot refuses to accept unsigned webhooks")
	p.check(o.Workers < 1, "--workers must be at least 1")
	p.check(o.Parallelism < 1, "--parallelism must be at least 1")
	p.check(o.JobTimeout <= 0, "--job-timeout must be positive")
	p.check(o.JobLease < 3*time.Second, "--job-lease must be at least 3s")
	p.check(o.RetryBackoff < 0, "--retry-backoff must not be negative")
	p.check(o.DrainTimeout < 0, "--drain-timeout must not be negative")
	p.check(o.RedeliverInterval < 0, "--redeliver-interval must not be negative (0 turns redelivery off)")
	p.check(o.JobRetention < 0, "--job-retention must not be negative (0 keeps finished jobs forever)")
	p.check(o.JobRetention > 0 && o.JobRetention < minJobRetention, "--job-retention %v is shorter than GitHub's 3-day (72h) redelivery window: a delivery pruned sooner could be redelivered and run twice; use at least 72h, or 0 to keep jobs forever", o.JobRetention)
	p.check(!IsPostgres(o.Database) && (strings.HasPrefix(o.Database, "host=") || strings.Contains(o.Database, "dbname=")), "--database looks like a PostgreSQL keyword DSN; give a postgres:// URL (SQLite is any other path)")
	switch o.MergeMethod {
	case "", "merge", "squash", "rebase":
	default:
		p.add("--merge-method must be merge, squash or rebase, not %q", o.MergeMethod)
	}
	p.check(!strings.HasPrefix(o.GitHubAPIURL, "https://") && !strings.HasPrefix(o.GitHubAPIURL, "http://"), "--github-api-url must be an http(s) URL, not %q", o.GitHubAPIURL)
	for _, g := range o.RepoAllowlist {
		if _, err := path.Match(g, "a/b"); err != nil || !strings.Contains(g, "/") {
			p.add("--repo-allowlist: %q is not an owner/repo glob", g)
		}
	}
	if o.DriftSchedule != "off" && o.DriftSchedule != "" {
		if _, err := cron.ParseStandard(o.DriftSchedule); err != nil {
			p.add("--drift-schedule %q is neither off nor a 5-field cron expression: %v", o.DriftSchedule, err)
		}
	}
	for _, n := range o.EnvAllowlist {
		p.check(strings.HasPrefix(strings.ToUpper(n), "PLANBOT_"), "--terraform-env-allowlist must not pass planbot's own variables (%s)", n)
	}
	o.Web.validate(p, o.Addr)
}

// AllowRepo reports whether events from repo ("owner/name") are processed.
// Matching is case-insensitive, as GitHub names are.
func (o Server) AllowRepo(repo string) bool {
	if len(o.RepoAllowlist) == 0 {
		return true
	}
	for _, g := range o.RepoAllowlist {
		if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(repo)); ok {
			return true
		}
	}
	return false
}

// IsPostgres reports whether Database names a PostgreSQL server.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// Secrets are the server's secrets, read from files.
type Secrets struct {
	WebhookSecret []byte
	AppKey        []byte
	// APIToken is the release API's bearer token; nil when the API is
	// off.
	APIToken []byte
	// ClientSecret is the App's OAuth client secret, for the web page;
	// nil when the page is not served.
	ClientSecret []byte
}

// Masked returns the secrets that must be masked wherever planbot
// writes: the webhook secret, the API token and the client secret (the
// App key is a PEM block, which redaction masks by its shape).
func (s Secrets) Masked() []string {
	var out []string
	for _, b := range [][]byte{s.WebhookSecret, s.APIToken, s.ClientSecret} {
		if len(b) > 0 {
			out = append(out, string(b))
		}
	}
	return out
}

// LoadSecrets reads the webhook secret, the App key, the API token and
// the client secret.
func (o Server) LoadSecrets() (Secrets, error) {
	var s Secrets
	if o.WebhookSecretFile != "" {
		b, err := os.ReadFile(o.WebhookSecretFile)
		if err != nil {
			return s, planbot.Errorf(planbot.EINVALID, "read webhook secret: %v", err)
		}
		s.WebhookSecret = []byte(strings.TrimRight(string(b), "\r\n"))
	} else {
		s.WebhookSecret = []byte(o.webhookSecretEnv)
	}
	if len(s.WebhookSecret) == 0 && !o.noWebhooks {
		return s, planbot.Errorf(planbot.EINVALID, "the webhook secret is empty; planbot refuses to accept unsigned webhooks")
	}
	b, err := os.ReadFile(o.GitHubAppKeyFile)
	if err != nil {
		return s, planbot.Errorf(planbot.EINVALID, "read GitHub App key: %v", err)
	}
	s.AppKey = b
	if o.APITokenFile != "" {
		t, err := os.ReadFile(o.APITokenFile)
		if err != nil {
			return s, planbot.Errorf(planbot.EINVALID, "read API token: %v", err)
		}
		s.APIToken = []byte(strings.TrimSpace(string(t)))
		if len(s.APIToken) < 16 {
			return s, planbot.Errorf(planbot.EINVALID, "the API token in --api-token-file is shorter than 16 characters")
		}
	}
	s.ClientSecret, err = o.Web.LoadClientSecret()
	return s, err
}

// String describes the options without secrets, for the start-up log.
func (o Server) String() string {
	db := o.Database
	if IsPostgres(db) {
		db = "postgres (DSN hidden)"
	}
	metricsAddr := o.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = o.Addr
	}
	return fmt.Sprintf("addr=%s metrics-addr=%s data-dir=%s api=%s app-id=%d database=%s workers=%d parallelism=%d max-inflight-webhooks=%d sandbox=%s checks=%s",
		o.Addr, metricsAddr, o.DataDir, o.GitHubAPIURL, o.GitHubAppID, db, o.Workers, o.Parallelism, o.MaxInflightWebhooks, o.Sandbox, onOff{&o.Checks})
}
