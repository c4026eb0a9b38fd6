package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnviron(t *testing.T) {
	process := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/root",
		"AWS_REGION=eu-west-1",
		"AWS_SECRET_ACCESS_KEY=s3cr3t",
		"PLANBOT_WEBHOOK_SECRET=hook",
		"PLANBOT_DATABASE=postgres://x",
		"TF_VAR_password=pw",
		"TF_CLI_ARGS=-lock=false",
		"GITHUB_TOKEN=ghp_x",
		"EQUALS=a=b",
	}
	tests := []struct {
		name        string
		allow       []string
		want        map[string]string
		wantDropped []string
	}{
		{
			name: "minimal",
			want: map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/run/home", "CHECKPOINT_DISABLE": "1"},
		},
		{
			name:  "allowlist",
			allow: []string{"AWS_REGION", "EQUALS", "UNSET"},
			want: map[string]string{
				"PATH": "/usr/bin:/bin", "HOME": "/run/home", "CHECKPOINT_DISABLE": "1",
				"AWS_REGION": "eu-west-1", "EQUALS": "a=b",
			},
		},
		{
			name:  "reserved names never pass",
			allow: []string{"PLANBOT_WEBHOOK_SECRET", "planbot_database", "TF_VAR_password", "TF_CLI_ARGS", "HOME", "TF_INPUT", "TF_PLUGIN_CACHE_DIR", "TF_CLI_CONFIG_FILE", "TMPDIR"},
			want:  map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/run/home", "CHECKPOINT_DISABLE": "1"},
			wantDropped: []string{
				"HOME", "PLANBOT_WEBHOOK_SECRET", "TF_CLI_ARGS", "TF_CLI_CONFIG_FILE", "TF_INPUT", "TF_PLUGIN_CACHE_DIR", "TF_VAR_password", "TMPDIR", "planbot_database",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := Environ(process, "/run/home", tt.allow)
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("env (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(dropped, tt.wantDropped); diff != "" {
				t.Errorf("dropped (-got +want):\n%s", diff)
			}
		})
	}
}

func TestCommandEnv(t *testing.T) {
	got := commandEnv(map[string]string{"PATH": "/bin", "HOME": "/h"})
	want := []string{"HOME=/h", "PATH=/bin", "TF_INPUT=0", "TF_IN_AUTOMATION=1"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("commandEnv (-got +want):\n%s", diff)
	}
}

// fakeTerraform writes a shell script that answers like terraform 1.11
// and appends "--- SUBCOMMAND" and its environment to envFile for every
// call. hang names a subcommand that starts a background sleep (which
// ignores SIGINT, as background jobs of a non-interactive shell do),
// records its PID and the shell's in pidFile, and waits.
func fakeTerraform(t *testing.T, hang string) (bin, envFile, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "terraform")
	envFile = filepath.Join(dir, "env.txt")
	pidFile = filepath.Join(dir, "pids.txt")
	script := fmt.Sprintf(`#!/bin/sh
# One append per call: fmt and init run at the same time.
dump=$(printf -- '--- %%s\n' "$1"; env)
printf '%%s\n' "$dump" >> %[1]q
if [ "$1" = %[3]q ]; then
	sleep 300 &
	echo $! > %[2]q.tmp
	echo $$ >> %[2]q.tmp
	mv %[2]q.tmp %[2]q
	wait
	exit 1
fi
case "$1" in
version)
	if [ "$2" = -json ]; then
		echo '{"terraform_version":"1.11.4","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
	else
		printf 'Terraform v1.11.4\non linux_amd64\n'
	fi ;;
plan)
	for a in "$@"; do
		case "$a" in -out=*) echo plan > "${a#-out=}" ;; esac
	done
	printf '\nTerraform will perform the following actions:\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n'
	exit 2 ;;
show)
	if [ "$2" = -json ]; then
		echo '{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[{"address":"terraform_data.a","mode":"managed","type":"terraform_data","name":"a","change":{"actions":["create"]}}]}'
	else
		echo 'Plan: 1 to add, 0 to change, 0 to destroy.'
	fi ;;
esac
exit 0
`, envFile, pidFile, hang)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, envFile, pidFile
}

func TestProcessEnvironment(t *testing.T) {
	t.Setenv("PLANBOT_WEBHOOK_SECRET", "hook-secret")
	t.Setenv("PLANBOT_DATABASE", "postgres://planbot:pw@db/planbot")
	t.Setenv("GITHUB_TOKEN", "ghp_secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	bin, envFile, _ := fakeTerraform(t, "")
	cache := filepath.Join(t.TempDir(), "plugins")
	r := &Runner{
		Bin:            bin,
		PluginCacheDir: cache,
		EnvAllowlist:   []string{"AWS_REGION", "PLANBOT_WEBHOOK_SECRET"},
		Logger:         testLogger(t),
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"main.tf": dataA})
	res, err := r.Plan(context.Background(), dir, "")
	if err != nil {
		t.Fatalf("Plan: %v (%s)", err, res.Error)
	}
	if res.Summary != "Plan: 1 to add, 0 to change, 0 to destroy." || res.Changes.Add != 1 {
		t.Errorf("Plan with fake terraform: Summary %q, Changes %+v", res.Summary, res.Changes)
	}

	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	calls := parseEnvDump(string(b))
	var commands []string
	for _, c := range calls {
		commands = append(commands, c.command)
	}
	// One at a time, in this order; nothing runs twice, and neither
	// `version` nor `workspace show` nor a second `show` runs at all.
	if diff := cmp.Diff(commands, []string{"fmt", "init", "plan", "show"}); diff != "" {
		t.Errorf("terraform processes of a plan (-got +want):\n%s", diff)
	}
	// Variables tfexec adds on its own, and those sh itself sets.
	allowed := map[string]bool{
		"PATH": true, "HOME": true, "TMPDIR": true, "AWS_REGION": true, "TF_CLI_CONFIG_FILE": true,
		"TF_IN_AUTOMATION": true, "TF_INPUT": true, "CHECKPOINT_DISABLE": true,
		"TF_APPEND_USER_AGENT": true, "TF_LOG": true, "TF_LOG_CORE": true, "TF_LOG_PATH": true, "TF_LOG_PROVIDER": true,
		"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true,
	}
	for _, c := range calls {
		for k := range c.env {
			if strings.HasPrefix(k, "PLANBOT_") || !allowed[k] {
				t.Errorf("terraform %s got variable %s", c.command, k)
			}
		}
		for k, want := range map[string]string{
			"TF_IN_AUTOMATION": "1",
			"AWS_REGION":       "eu-west-1",
			"PATH":             os.Getenv("PATH"),
		} {
			if got := c.env[k]; got != want {
				t.Errorf("terraform %s: %s=%q, want %q", c.command, k, got, want)
			}
		}
		if home := c.env["HOME"]; home == "" || home == os.Getenv("HOME") {
			t.Errorf("terraform %s: HOME=%q, want a private directory", c.command, home)
		}
		if tmp := c.env["TMPDIR"]; tmp != filepath.Join(c.env["HOME"], "tmp") {
			t.Errorf("terraform %s: TMPDIR=%q, want one inside its HOME", c.command, tmp)
		}
		// The CLI configuration that names the provider mirror, for
		// terraform and OpenTofu alike.
		if cfg := c.env["TF_CLI_CONFIG_FILE"]; cfg != filepath.Join(c.env["HOME"], CLIConfigName) {
			t.Errorf("terraform %s: TF_CLI_CONFIG_FILE=%q, want one inside its HOME", c.command, cfg)
		}
		if c.command == "fmt" && c.env["TF_INPUT"] != "0" {
			t.Errorf("terraform fmt: TF_INPUT=%q, want 0", c.env["TF_INPUT"])
		}
	}
	if _, err := os.Stat(cache); err != nil {
		t.Errorf("plugin cache dir not created: %v", err)
	}
}

type envCall struct {
	command string
	env     map[string]string
}

func parseEnvDump(s string) []envCall {
	var calls []envCall
	for _, line := range strings.Split(s, "\n") {
		if cmd, ok := strings.CutPrefix(line, "--- "); ok {
			calls = append(calls, envCall{command: cmd, env: map[string]string{}})
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && len(calls) > 0 {
			calls[len(calls)-1].env[k] = v
		}
	}
	return calls
}
