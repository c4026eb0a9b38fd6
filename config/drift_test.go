package config

import (
	"strings"
	"testing"
	"time"
)

func TestRepoDrift(t *testing.T) {
	r, err := ParseRepo([]byte(`version: 1
drift:
  schedule: "0 6 * * *"
projects:
  - dir: envs/dev
    drift:
      enabled: false
  - dir: envs/prod
    drift:
      schedule: "0 * * * *"
  - dir: envs/qa
`))
	if err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 30, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		project  string
		from, to time.Time
		want     bool
	}{
		{"disabled", "envs/dev", at(5), at(7), false},
		{"own schedule fired", "envs/prod", at(5), at(6), true},
		{"repo schedule not fired", "envs/qa", at(3), at(4), false},
		{"repo schedule fired", "envs/qa", at(5), at(6), true},
		{"first pass", "envs/qa", time.Time{}, at(4), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.DriftDue(tt.project, tt.from, tt.to); got != tt.want {
				t.Errorf("DriftDue(%s, %s, %s) = %v, want %v", tt.project, tt.from, tt.to, got, tt.want)
			}
		})
	}

	for _, tc := range []struct{ yaml, want string }{
		{"version: 1\nprojects:\n  - dir: a\n    drift:\n      schedule: \"every day\"\n", `.planbot.yaml:5: projects[0].drift.schedule: "every day" is not a 5-field cron expression`},
		{"version: 1\ndrift:\n  enable: true\n", ".planbot.yaml:3: drift.enable: unknown key (want one of enabled, schedule)"},
		{"version: 1\ndrift:\n  schedule: \"\"\n", ".planbot.yaml:3: drift.schedule: must be a 5-field cron expression"},
	} {
		if _, err := ParseRepo([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRepo(%q) error = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestParseDrift(t *testing.T) {
	github := []string{"--github-app-id=7", "--github-app-key-file=/k.pem"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, o DriftCommand)
	}{
		{name: "a pass against GitHub", args: append([]string{"--repo=acme/infra", "--project=live"}, github...), check: func(t *testing.T, o DriftCommand) {
			if o.Local || o.Repo != "acme/infra" || o.Project != "live" || o.Server.GitHubAppID != 7 || o.Server.Sandbox != "landlock" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "no webhook secret needed", args: github, check: func(t *testing.T, o DriftCommand) {
			if o.Server.Database == "" {
				t.Errorf("database not defaulted: %+v", o.Server)
			}
		}},
		{name: "env twins", env: map[string]string{"PLANBOT_GITHUB_APP_ID": "9", "PLANBOT_GITHUB_APP_KEY_FILE": "/k", "PLANBOT_SANDBOX": "off"}, check: func(t *testing.T, o DriftCommand) {
			if o.Server.GitHubAppID != 9 || o.Server.Sandbox != "off" {
				t.Errorf("got %+v", o.Server)
			}
		}},
		{name: "local needs no App", args: []string{"--local", "--ref=main"}, check: func(t *testing.T, o DriftCommand) {
			if !o.Local || o.Repo != "." || o.Ref != "main" {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "every problem at once", args: []string{"--ref=main", "--repo=infra", "--sandbox=chroot"}, wantErr: []string{
			"--ref needs --local", "--repo must be owner/name", "--sandbox must be landlock or off", "--github-app-id",
		}},
		{name: "stray argument", args: append([]string{"now"}, github...), wantErr: []string{"unexpected arguments: now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseDrift(tt.args, env(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; want %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}
