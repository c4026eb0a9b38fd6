package runner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/store"
)

func TestFilterProjects(t *testing.T) {
	ps := []planbot.Project{{Name: "envs/dev", Dir: "envs/dev"}, {Name: "prod", Dir: "envs/prod"}}
	tests := []struct {
		name      string
		pname     string
		dir       string
		want      []string
		wantError string
	}{
		{name: "all", want: []string{"envs/dev", "prod"}},
		{name: "by name", pname: "prod", want: []string{"prod"}},
		{name: "by dir", dir: "envs/prod/", want: []string{"prod"}},
		{name: "unknown", pname: "staging", wantError: "changes `envs/dev`, `prod`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filterProjects(ps, tt.pname, tt.dir)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("err = %v, want %q", err, tt.wantError)
				}
				return
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if diff := cmp.Diff(names, tt.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
	if _, err := filterProjects(nil, "x", ""); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("no projects: err = %v", err)
	}
}

func TestDone(t *testing.T) {
	tests := []struct {
		name string
		p    store.Plan
		want bool
	}{
		{name: "terraform planned", p: store.Plan{Kind: "terraform", Status: "planned"}, want: false},
		{name: "terraform applied", p: store.Plan{Kind: "terraform", Status: "applied"}, want: true},
		{name: "no changes", p: store.Plan{Kind: "terraform", Status: "no_changes"}, want: true},
		{name: "manifests are applied by the merge", p: store.Plan{Kind: "kustomize", Status: "planned"}, want: true},
		{name: "failed manifests", p: store.Plan{Kind: "kustomize", Status: "failed"}, want: false},
		{name: "deleted overlay is applied by the merge", p: store.Plan{Kind: "kustomize", Status: "deleted"}, want: true},
		{name: "locked", p: store.Plan{Kind: "terraform", Status: "locked"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := done(tt.p); got != tt.want {
				t.Errorf("done = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConfigHelp(t *testing.T) {
	got := configHelp(config.DefaultRepo(), "main")
	for _, want := range []string{"detected automatically", "CODEOWNERS", "merges the PR"} {
		if !strings.Contains(got, want) {
			t.Errorf("default help lacks %q:\n%s", want, got)
		}
	}
	cfg, err := config.ParseRepo([]byte("version: 1\nautomerge: false\napply_requirements: [undiverged]\nterraform_version: \">= 1.5\"\nprojects:\n  - name: dev\n    dir: envs/dev\n"))
	if err != nil {
		t.Fatal(err)
	}
	got = configHelp(cfg, "main")
	for _, want := range []string{"`dev`", "undiverged", "Automerge is off", ">= 1.5"} {
		if !strings.Contains(got, want) {
			t.Errorf("help lacks %q:\n%s", want, got)
		}
	}
}
