package runner

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/config"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/treetest"
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

// savedPlans is a store that keeps what SavePlan stores; only SavePlan
// is implemented.
// writePlanFile writes a stand-in saved plan file into a temporary
// directory and returns its path.
func writePlanFile(t *testing.T) string {
	t.Helper()
	dir := treetest.New(t, map[string]string{"planbot.tfplan": "plan"})
	return filepath.Join(dir, "planbot.tfplan")
}

type savedPlans struct {
	store.Store
	saved []store.Plan
}

func (s *savedPlans) SavePlan(ctx context.Context, p store.Plan) (int64, error) {
	s.saved = append(s.saved, p)
	return int64(len(s.saved)), nil
}

// TestSaveStatusMatchesResult checks that the stored result JSON and the
// status column agree, also when the saved plan file cannot be read.
func TestSaveStatusMatchesResult(t *testing.T) {
	planFile := writePlanFile(t)
	tests := []struct {
		name       string
		planFile   string
		wantStatus planbot.Status
		wantData   bool
	}{
		{name: "plan file read", planFile: planFile, wantStatus: planbot.StatusPlanned, wantData: true},
		{name: "plan file gone", planFile: filepath.Join(t.TempDir(), "gone.tfplan"), wantStatus: planbot.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans := &savedPlans{}
			p := &Planner{Plans: plans, Logger: slog.New(slog.DiscardHandler)}
			prj := planbot.Project{Name: "envs/dev", Dir: "envs/dev", Kind: planbot.KindTerraform}
			pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, HeadSHA: "h1"}
			res := p.save(context.Background(), pr, prj, planbot.Result{Project: prj, Status: planbot.StatusPlanned, PlanFile: tt.planFile}, p.Logger)
			if res.Status != tt.wantStatus {
				t.Errorf("returned status = %s, want %s", res.Status, tt.wantStatus)
			}
			if len(plans.saved) != 1 {
				t.Fatalf("saved %d plans, want 1", len(plans.saved))
			}
			saved := plans.saved[0]
			stored, err := savedResult(saved)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Status != string(tt.wantStatus) || stored.Status != tt.wantStatus {
				t.Errorf("stored status column %q, result JSON status %q; want both %q", saved.Status, stored.Status, tt.wantStatus)
			}
			if (len(saved.PlanData) > 0) != tt.wantData {
				t.Errorf("stored plan data = %q, want some: %v", saved.PlanData, tt.wantData)
			}
		})
	}
}
