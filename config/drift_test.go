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
