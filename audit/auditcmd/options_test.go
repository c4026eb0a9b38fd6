package auditcmd

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
)

func TestParseOptions(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Options
		code string // planbot error code, "" for success
	}{
		{
			name: "defaults",
			want: Options{DataDir: "./planbot-data", Database: filepath.Join("planbot-data", "planbot.db")},
		},
		{
			name: "data dir",
			args: []string{"--data-dir", "/var/lib/planbot"},
			want: Options{DataDir: "/var/lib/planbot", Database: "/var/lib/planbot/planbot.db"},
		},
		{
			name: "database overrides data dir",
			args: []string{"--data-dir", "/d", "--database", "postgres://u:p@db/planbot"},
			want: Options{DataDir: "/d", Database: "postgres://u:p@db/planbot"},
		},
		{
			name: "environment twins",
			env:  map[string]string{"PLANBOT_DATA_DIR": "/env", "PLANBOT_REPO": "acme/infra", "PLANBOT_PR": "4", "PLANBOT_JSON": "true"},
			want: Options{DataDir: "/env", Database: "/env/planbot.db", Repo: "acme/infra", PR: 4, JSON: true},
		},
		{
			name: "flags beat the environment",
			args: []string{"--data-dir", "/flag", "--pr", "5"},
			env:  map[string]string{"PLANBOT_DATA_DIR": "/env", "PLANBOT_PR": "4"},
			want: Options{DataDir: "/flag", Database: "/flag/planbot.db", PR: 5},
		},
		{
			name: "database from the environment, as the server reads it",
			args: []string{"--data-dir", "/flag"},
			env:  map[string]string{"PLANBOT_DATABASE": "/srv/planbot.db"},
			want: Options{DataDir: "/flag", Database: "/srv/planbot.db"},
		},
		{
			name: "since RFC 3339",
			args: []string{"--data-dir=/d", "--since", "2024-05-01T14:00:00+02:00"},
			want: Options{DataDir: "/d", Database: "/d/planbot.db", Since: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		},
		{
			name: "since date",
			args: []string{"--data-dir=/d", "--since", "2024-05-01"},
			want: Options{DataDir: "/d", Database: "/d/planbot.db", Since: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "since duration",
			args: []string{"--data-dir=/d", "--since", "24h"},
			want: Options{DataDir: "/d", Database: "/d/planbot.db", Since: now.Add(-24 * time.Hour)},
		},
		{
			name: "since days",
			args: []string{"--data-dir=/d", "--since", "7d"},
			want: Options{DataDir: "/d", Database: "/d/planbot.db", Since: now.AddDate(0, 0, -7)},
		},
		{
			name: "verify a file",
			args: []string{"--verify", "--file", "audit.jsonl"},
			want: Options{DataDir: "./planbot-data", Verify: true, File: "audit.jsonl"},
		},
		{
			name: "verify a file with the database in the environment",
			args: []string{"--verify", "--file", "audit.jsonl"},
			env:  map[string]string{"PLANBOT_DATABASE": "/srv/planbot.db"},
			want: Options{DataDir: "./planbot-data", Verify: true, File: "audit.jsonl"},
		},
		{name: "negative duration", args: []string{"--since", "-1h"}, code: planbot.EINVALID},
		{name: "negative days", args: []string{"--since", "-2d"}, code: planbot.EINVALID},
		{name: "garbage since", args: []string{"--since", "last week"}, code: planbot.EINVALID},
		{name: "empty data dir", args: []string{"--data-dir", ""}, code: planbot.EINVALID},
		{name: "bad env twin", env: map[string]string{"PLANBOT_PR": "many"}, code: planbot.EINVALID},
		{name: "repo without owner", args: []string{"--repo", "infra"}, code: planbot.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.args, func(k string) string { return tt.env[k] }, now)
			if tt.code != "" {
				if planbot.ErrorCode(err) != tt.code {
					t.Fatalf("ParseOptions error = %v (code %q), want code %q", err, planbot.ErrorCode(err), tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("ParseOptions (-got +want):\n%s", diff)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "sqlite", in: "/d/planbot.db", want: "/d/planbot.db"},
		{name: "password", in: "postgres://planbot:s3cret@db:5432/planbot?sslmode=require", want: "postgres://planbot:xxxxx@db:5432/planbot?sslmode=require"},
		{name: "no password", in: "postgresql://planbot@db/planbot", want: "postgresql://planbot@db/planbot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(redact(tt.in), tt.want); diff != "" {
				t.Errorf("redact (-got +want):\n%s", diff)
			}
		})
	}
}
