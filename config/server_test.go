package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/errtest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// wantDuration returns a check that the duration d reads from the options
// is want.
func wantDuration(d durationField, want time.Duration) func(*testing.T, Server) {
	return func(t *testing.T, o Server) {
		if got := d.get(o); got != want {
			t.Errorf("%s = %v, want %v", d.name, got, want)
		}
	}
}

// durationField names a duration of the options and reads it.
type durationField struct {
	name string
	get  func(Server) time.Duration
}

var (
	redeliverInterval = durationField{"redeliver interval", func(o Server) time.Duration { return o.RedeliverInterval }}
	jobRetention      = durationField{"job retention", func(o Server) time.Duration { return o.JobRetention }}
)

func TestParseServer(t *testing.T) {
	base := []string{"--github-app-id=7", "--github-app-key-file=/k.pem", "--webhook-secret-file=/s"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, o Server)
	}{
		{name: "defaults", args: base, check: func(t *testing.T, o Server) {
			if o.Addr != ":8080" || o.DataDir != "./planbot-data" || o.Database != filepath.Join("planbot-data", "planbot.db") || o.JobTimeout != 30*time.Minute || o.RedeliverInterval != 5*time.Minute || o.JobRetention != 168*time.Hour {
				t.Errorf("defaults = %+v", o)
			}
		}},
		{name: "env twins", env: map[string]string{
			"PLANBOT_GITHUB_APP_ID": "9", "PLANBOT_GITHUB_APP_KEY_FILE": "/k", "PLANBOT_WEBHOOK_SECRET": "s3",
			"PLANBOT_REPO_ALLOWLIST": "acme/*, other/x", "PLANBOT_DATA_DIR": "/d",
		}, check: func(t *testing.T, o Server) {
			if diff := cmp.Diff(o.RepoAllowlist, []string{"acme/*", "other/x"}); diff != "" {
				t.Errorf("allowlist (-got +want):\n%s", diff)
			}
			if o.GitHubAppID != 9 || o.Database != "/d/planbot.db" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "drift schedule", args: append([]string{"--drift-schedule=0 6 * * 1-5"}, base...), check: func(t *testing.T, o Server) {
			if o.DriftSchedule != "0 6 * * 1-5" {
				t.Errorf("DriftSchedule = %q", o.DriftSchedule)
			}
		}},
		{name: "drift schedule invalid", args: append([]string{"--drift-schedule=every day"}, base...), wantErr: "--drift-schedule"},
		{name: "flag beats env", args: append([]string{"--addr=:9"}, base...), env: map[string]string{"PLANBOT_ADDR": ":1"},
			check: func(t *testing.T, o Server) {
				if o.Addr != ":9" {
					t.Errorf("addr = %q", o.Addr)
				}
			}},
		{name: "redeliver interval off", args: append([]string{"--redeliver-interval=0"}, base...), env: map[string]string{"PLANBOT_REDELIVER_INTERVAL": "1m"}, check: wantDuration(redeliverInterval, 0)},
		{name: "redeliver interval from env", args: base, env: map[string]string{"PLANBOT_REDELIVER_INTERVAL": "90s"}, check: wantDuration(redeliverInterval, 90*time.Second)},
		{name: "sandbox on by default", args: base, check: func(t *testing.T, o Server) {
			if o.Sandbox != "landlock" || o.CredentialsDir != "" {
				t.Errorf("sandbox = %q, credentials dir = %q", o.Sandbox, o.CredentialsDir)
			}
		}},
		{name: "sandbox off and credentials from env", args: base, env: map[string]string{"PLANBOT_SANDBOX": "off", "PLANBOT_CREDENTIALS_DIR": "/etc/planbot/creds"},
			check: func(t *testing.T, o Server) {
				if o.Sandbox != "off" || o.CredentialsDir != "/etc/planbot/creds" {
					t.Errorf("sandbox = %q, credentials dir = %q", o.Sandbox, o.CredentialsDir)
				}
			}},
		{name: "unknown sandbox", args: append([]string{"--sandbox=chroot"}, base...), wantErr: "--sandbox"},
		{name: "check runs on by default", args: base, check: func(t *testing.T, o Server) {
			if !o.Checks {
				t.Error("Checks = false, want on by default")
			}
		}},
		{name: "check runs off", args: append([]string{"--checks=off"}, base...), check: func(t *testing.T, o Server) {
			if o.Checks {
				t.Error("--checks=off left Checks on")
			}
		}},
		{name: "check runs off from env", args: base, env: map[string]string{"PLANBOT_CHECKS": "off"}, check: func(t *testing.T, o Server) {
			if o.Checks {
				t.Error("PLANBOT_CHECKS=off left Checks on")
			}
		}},
		{name: "check runs neither on nor off", args: append([]string{"--checks=yes"}, base...), wantErr: `--checks must be on or off, not "yes"`},
		{name: "check runs env neither on nor off", args: base, env: map[string]string{"PLANBOT_CHECKS": "1"}, wantErr: `--checks must be on or off, not PLANBOT_CHECKS="1"`},
		{name: "negative redeliver interval", args: append([]string{"--redeliver-interval=-1s"}, base...), wantErr: "redeliver-interval"},
		{name: "job retention off", args: append([]string{"--job-retention=0"}, base...), check: wantDuration(jobRetention, 0)},
		{name: "job retention from env", args: base, env: map[string]string{"PLANBOT_JOB_RETENTION": "720h"}, check: wantDuration(jobRetention, 720*time.Hour)},
		{name: "job retention at the redelivery window", args: append([]string{"--job-retention=72h"}, base...), check: wantDuration(jobRetention, 72*time.Hour)},
		{name: "job retention inside the redelivery window", args: append([]string{"--job-retention=71h59m"}, base...), wantErr: "3-day (72h) redelivery window"},
		{name: "negative job retention", args: append([]string{"--job-retention=-1h"}, base...), wantErr: "job-retention must not be negative"},
		{name: "front door defaults", args: base, check: func(t *testing.T, o Server) {
			got := []any{o.MetricsAddr, o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.IdleTimeout, o.MaxInflightWebhooks}
			want := []any{"", 10 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second, 32}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("front door defaults (-got +want):\n%s", diff)
			}
		}},
		{name: "front door from env", args: base, env: map[string]string{
			"PLANBOT_METRICS_ADDR": "127.0.0.1:9090", "PLANBOT_READ_HEADER_TIMEOUT": "2s", "PLANBOT_READ_TIMEOUT": "5s",
			"PLANBOT_WRITE_TIMEOUT": "7s", "PLANBOT_IDLE_TIMEOUT": "1m", "PLANBOT_MAX_INFLIGHT_WEBHOOKS": "3",
		}, check: func(t *testing.T, o Server) {
			got := []any{o.MetricsAddr, o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.IdleTimeout, o.MaxInflightWebhooks}
			want := []any{"127.0.0.1:9090", 2 * time.Second, 5 * time.Second, 7 * time.Second, time.Minute, 3}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("front door from env (-got +want):\n%s", diff)
			}
			if !strings.Contains(o.String(), "metrics-addr=127.0.0.1:9090") {
				t.Errorf("String() = %q, want the metrics address", o.String())
			}
		}},
		{name: "metrics on the webhook address", args: append([]string{"--addr=:8080", "--metrics-addr=:8080"}, base...), wantErr: "--metrics-addr must differ"},
		{name: "zero read timeout", args: append([]string{"--read-timeout=0"}, base...), wantErr: "must be positive"},
		{name: "zero idle timeout", args: append([]string{"--idle-timeout=0"}, base...), wantErr: "must be positive"},
		{name: "header timeout beyond read timeout", args: append([]string{"--read-header-timeout=40s"}, base...), wantErr: "--read-header-timeout (40s) must not exceed --read-timeout (30s)"},
		{name: "write timeout below read timeout", args: append([]string{"--write-timeout=10s"}, base...), wantErr: "--write-timeout (10s) must be at least --read-timeout (30s)"},
		{name: "no in-flight webhooks", args: append([]string{"--max-inflight-webhooks=0"}, base...), wantErr: "--max-inflight-webhooks must be at least 1"},
		{name: "no secret refused", args: []string{"--github-app-id=7", "--github-app-key-file=/k"}, wantErr: "webhook secret is required"},
		{name: "no app id", args: []string{"--github-app-key-file=/k", "--webhook-secret-file=/s"}, wantErr: "--github-app-id"},
		{name: "bad env int", args: base, env: map[string]string{"PLANBOT_WORKERS": "many"}, wantErr: "PLANBOT_WORKERS"},
		{name: "bad glob", args: append([]string{"--repo-allowlist=[x"}, base...), wantErr: "repo-allowlist"},
		{name: "planbot vars never allowlisted", args: append([]string{"--terraform-env-allowlist=AWS_REGION,PLANBOT_DATABASE"}, base...), wantErr: "PLANBOT_DATABASE"},
		{name: "bad merge method", args: append([]string{"--merge-method=fast"}, base...), wantErr: "merge-method"},
		{name: "keyword DSN refused", args: append([]string{"--database=host=/tmp port=5432 dbname=planbot"}, base...), wantErr: "postgres:// URL"},
		{name: "app id not a number", args: []string{"--github-app-id=abc", "--github-app-key-file=/k", "--webhook-secret-file=/s"}, wantErr: `--github-app-id must be a number, not "abc"`},
		{name: "bad env duration says what it expects", args: base, env: map[string]string{"PLANBOT_JOB_TIMEOUT": "soon"}, wantErr: `--job-timeout must be a duration such as 90s, 5m or 1h30m, not PLANBOT_JOB_TIMEOUT="soon"`},
		{name: "bad bool", args: append([]string{"--dry-run=maybe"}, base...), wantErr: "--dry-run must be true or false"},
		{name: "extra args", args: append(base, "extra"), wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseServer(tt.args, env(tt.env))
			if errtest.Want(t, err, tt.wantErr) {
				return
			}
			tt.check(t, o)
		})
	}
}

func TestAllowRepo(t *testing.T) {
	o := Server{RepoAllowlist: []string{"acme/*", "Other/Infra"}}
	for repo, want := range map[string]bool{"acme/infra": true, "ACME/x": true, "other/infra": true, "other/y": false, "evil/acme": false} {
		if got := o.AllowRepo(repo); got != want {
			t.Errorf("AllowRepo(%q) = %v, want %v", repo, got, want)
		}
	}
	if !(Server{}).AllowRepo("any/repo") {
		t.Error("empty allowlist must allow every repo")
	}
}

func TestLoadSecrets(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	sec := filepath.Join(dir, "secret")
	os.WriteFile(key, []byte("PEM"), 0o600)
	os.WriteFile(sec, []byte("hunter2\n"), 0o600)
	o, err := ParseServer([]string{"--github-app-id=1", "--github-app-key-file=" + key, "--webhook-secret-file=" + sec}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.LoadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if string(s.WebhookSecret) != "hunter2" || string(s.AppKey) != "PEM" {
		t.Errorf("secrets = %q %q", s.WebhookSecret, s.AppKey)
	}
	if strings.Contains(o.String(), "hunter2") {
		t.Error("String leaks the secret")
	}
	os.WriteFile(sec, []byte("\n"), 0o600)
	if _, err := o.LoadSecrets(); err == nil {
		t.Error("empty secret accepted")
	}
}

// TestParseServerAllProblems checks that every missing or invalid option is
// reported at once, each once, saying what it expects.
func TestParseServerAllProblems(t *testing.T) {
	_, err := ParseServer([]string{"--github-app-id=seven", "--workers=0", "--merge-method=fast", "--job-lease=soon"}, env(map[string]string{"PLANBOT_PARALLELISM": "x"}))
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		"6 problems with the options:",
		`  --parallelism must be a number, not PLANBOT_PARALLELISM="x"`,
		`  --github-app-id must be a number, not "seven"`,
		`  --job-lease must be a duration such as 90s, 5m or 1h30m, not "soon"`,
		"  --github-app-key-file (PLANBOT_GITHUB_APP_KEY_FILE) is required: the file holding the App's PEM private key",
		"  a webhook secret is required: set --webhook-secret-file or PLANBOT_WEBHOOK_SECRET; planbot refuses to accept unsigned webhooks",
		"  --workers must be at least 1",
		`  --merge-method must be merge, squash or rebase, not "fast"`,
	}
	want[0] = fmt.Sprintf("%d problems with the options:", len(want)-1)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("problems (-got +want):\n%s", diff)
	}
}

// TestWriteServerUsage checks that `planbot server -h` names every flag
// with its environment twin.
func TestWriteServerUsage(t *testing.T) {
	var b strings.Builder
	WriteServerUsage(&b)
	var o Server
	var mode string
	o.flags(&mode).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(b.String(), "--"+f.Name+" ") && !strings.Contains(b.String(), "--"+f.Name+"\n") {
			t.Errorf("usage lacks --%s", f.Name)
		}
		if !strings.Contains(b.String(), EnvName(f.Name)) {
			t.Errorf("usage lacks %s", EnvName(f.Name))
		}
	})
	if !strings.HasPrefix(b.String(), "usage: planbot server [flags]") {
		t.Errorf("usage starts %q", b.String()[:40])
	}
}
