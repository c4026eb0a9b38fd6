package credentials_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/credentials"
	"github.com/planbot/planbot/treetest"
)

func TestLoad(t *testing.T) {
	dir := treetest.New(t, map[string]string{
		"plan.env":              "# read-only role\nTF_VAR_token=plan-secret\nAWS_PROFILE=\"readonly\"\n\nexport REGION='eu-west-1'\n",
		"apply.env":             "TF_VAR_token=apply-secret\n",
		"acme/special/plan.env": "TF_VAR_token=special-plan\n",
	})
	s, err := credentials.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	acme := planbot.Repo{Owner: "acme", Name: "infra"}
	special := planbot.Repo{Owner: "acme", Name: "special"}
	tests := []struct {
		name  string
		repo  planbot.Repo
		phase credentials.Phase
		want  map[string]string
	}{
		{"plan", acme, credentials.Plan, map[string]string{"TF_VAR_token": "plan-secret", "AWS_PROFILE": "readonly", "REGION": "eu-west-1"}},
		{"apply", acme, credentials.Apply, map[string]string{"TF_VAR_token": "apply-secret"}},
		{"repo file replaces the global one", special, credentials.Plan, map[string]string{"TF_VAR_token": "special-plan"}},
		{"repo without its own apply file", special, credentials.Apply, map[string]string{"TF_VAR_token": "apply-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(s.Env(tt.repo, tt.phase), tt.want); diff != "" {
				t.Errorf("Env (-got +want):\n%s", diff)
			}
		})
	}
	want := []string{"apply-secret", "special-plan", "plan-secret", "eu-west-1", "readonly"}
	if diff := cmp.Diff(s.Values(), want); diff != "" {
		t.Errorf("Values (-got +want):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no equals", "A=1\nnonsense-secret\n", "plan.env:2: want KEY=VALUE"},
		{"bad name", "1A=x\n", `plan.env:1: invalid variable name "1A"`},
		{"reserved", "HOME=/tmp\n", "plan.env:1: HOME is set by planbot"},
		{"planbot", "PLANBOT_WEBHOOK_SECRET=x\n", "plan.env:1: PLANBOT_WEBHOOK_SECRET is set by planbot"},
		{"cli args", "TF_CLI_ARGS_plan=-var=x\n", "plan.env:1: TF_CLI_ARGS_plan is set by planbot"},
		{"duplicate", "A=1\nA=2\n", "plan.env:2: A is set twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := treetest.New(t, map[string]string{"plan.env": tt.body})
			_, err := credentials.Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "nonsense-secret") {
				t.Errorf("the error quotes the line: %v", err)
			}
		})
	}
	if _, err := credentials.Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory: no error")
	}
	if s, err := credentials.Load(""); err != nil || s.Env(planbot.Repo{Owner: "a", Name: "b"}, credentials.Plan) != nil {
		t.Errorf("no directory: %v", err)
	}
}
