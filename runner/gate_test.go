package runner

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

func TestGate(t *testing.T) {
	open := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, State: "open", HeadSHA: "h1234567890"}
	plan := func(project, status, kind string) store.Plan {
		return store.Plan{Project: project, Dir: project, Status: status, Kind: kind}
	}
	dev := plan("envs/dev", string(planbot.StatusPlanned), "terraform")
	intent := audit.Entry{Seq: 2, HeadSHA: open.HeadSHA, Project: "envs/dev", Action: audit.ActionApplyRequested, Outcome: "started", DeliveryID: "d0"}
	with := func(f func(*planbot.PullRequest)) planbot.PullRequest {
		pr := open
		f(&pr)
		return pr
	}
	tests := []struct {
		name         string
		in           gateInput
		want         *refusal
		wantSelected []string
	}{
		{name: "merged", in: gateInput{PR: with(func(pr *planbot.PullRequest) { pr.Merged = true }), Plans: []store.Plan{dev}},
			want: &refusal{Reason: "this pull request is already merged."}},
		{name: "closed", in: gateInput{PR: with(func(pr *planbot.PullRequest) { pr.State = "closed" }), Plans: []store.Plan{dev}},
			want: &refusal{Reason: "this pull request is closed."}},
		{name: "draft", in: gateInput{PR: with(func(pr *planbot.PullRequest) { pr.Draft = true }), Plans: []store.Plan{dev}},
			want: &refusal{Reason: "this pull request is a draft; mark it ready for review first."}},
		{name: "check run of an older head", in: gateInput{PR: open, Plans: []store.Plan{dev}, WantHead: "h0000000000"},
			want: &refusal{Reason: "this check run is for h000000 but head is h123456; apply from the check run of the head, or run /plan."}},
		{name: "check run of the head", in: gateInput{PR: open, Plans: []store.Plan{dev}, WantHead: open.HeadSHA},
			wantSelected: []string{"envs/dev"}},
		{name: "no plan", in: gateInput{PR: open},
			want: &refusal{Reason: "there is no plan for head h123456, run /plan."}},
		{name: "plan of an older head", in: gateInput{PR: open, Locks: []store.Lock{{PR: 7, HeadSHA: "h0000000000"}}},
			want: &refusal{Reason: "plan is for h000000 but head is h123456, run /plan."}},
		{name: "unknown project", in: gateInput{PR: open, Plans: []store.Plan{dev}, OnlyName: "nope"},
			want: &refusal{Reason: "this PR does not change a project `nope`; it changes `envs/dev`"}},
		{name: "failed plan", in: gateInput{PR: open, Plans: []store.Plan{plan("envs/dev", string(planbot.StatusFailed), "terraform")}},
			want: &refusal{Project: "envs/dev", Reason: "`envs/dev` has no successful plan for h123456 (it failed); fix it and run /plan."}},
		{name: "locked", in: gateInput{PR: open, Plans: []store.Plan{plan("envs/dev", string(planbot.StatusLocked), "terraform")}},
			want: &refusal{Project: "envs/dev", Reason: "`envs/dev` is locked by another pull request; run /plan once it is free."}},
		{name: "deleted overlay", in: gateInput{PR: open, Plans: []store.Plan{plan("k8s/dev", string(planbot.StatusDeleted), "kustomize")}},
			wantSelected: []string{"k8s/dev"}},
		{name: "interrupted apply", in: gateInput{PR: open, Plans: []store.Plan{dev}, History: []audit.Entry{intent}},
			want: &refusal{Interrupted: []audit.Entry{intent}}},
		{name: "plan older than an interrupted apply", in: gateInput{PR: open, Plans: []store.Plan{dev}, History: []audit.Entry{
			{Seq: 1, HeadSHA: open.HeadSHA, Project: "envs/dev", Action: audit.ActionPlan},
			{Seq: 3, HeadSHA: open.HeadSHA, Project: "envs/dev", Action: audit.ActionApplyInterrupted},
		}}, want: &refusal{Project: "envs/dev", Reason: "an earlier apply of `envs/dev` at h123456 was interrupted and its plan was made before that; check the state, then run /plan and /apply again."}},
		{name: "selected by dir", in: gateInput{PR: open, Plans: []store.Plan{dev, plan("envs/prod", string(planbot.StatusFailed), "terraform")}, OnlyDir: "envs/dev/"},
			wantSelected: []string{"envs/dev"}},
		{name: "every gate passes", in: gateInput{PR: open, Plans: []store.Plan{dev, plan("envs/prod", string(planbot.StatusNoChange), "terraform")}},
			wantSelected: []string{"envs/dev", "envs/prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, selected := gate(tt.in)
			if diff := cmp.Diff(got, tt.want, cmp.AllowUnexported(refusal{})); diff != "" {
				t.Errorf("gate refusal (-got +want):\n%s", diff)
			}
			var names []string
			for _, p := range selected {
				names = append(names, p.Project)
			}
			if diff := cmp.Diff(names, tt.wantSelected); diff != "" {
				t.Errorf("gate selected (-got +want):\n%s", diff)
			}
		})
	}
}
