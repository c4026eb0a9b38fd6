package comment

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot"
)

func TestHelpGolden(t *testing.T) {
	got := Help([]planbot.Project{
		tf("envs/prod"),
		{Name: "web-staging", Dir: "envs/web", Workspace: "staging", Kind: planbot.KindTerraform},
		{Name: "apps|odd", Dir: "overlays/prod", Kind: planbot.KindKustomize},
	})
	checkGolden(t, "help", got)
	if none := Help(nil); !strings.Contains(none, "changes no project") || !strings.Contains(none, "/unlock") {
		t.Errorf("Help(nil) = %q", none)
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "invalid", err: planbot.Errorf(planbot.EINVALID, "unknown flag -x"),
			want: "⚠️ **planbot could not run this command:** unknown flag -x\n\nComment `/help` for the commands and their options.\n"},
		{name: "unauthorized", err: fmt.Errorf("apply: %w", planbot.Errorf(planbot.EUNAUTHORIZED, "envs/prod needs an approval from @acme/sre")),
			want: "🚫 **Not allowed:** envs/prod needs an approval from @acme/sre\n"},
		{name: "conflict", err: planbot.Errorf(planbot.ECONFLICT, "envs/prod is locked by #12"), want: "⏳ **Conflict:** envs/prod is locked by #12\n"},
		{name: "not found", err: planbot.Errorf(planbot.ENOTFOUND, "no project named api"), want: "🔍 **Not found:** no project named api\n"},
		{name: "internal hides details", err: &planbot.Error{Code: planbot.EINTERNAL, Message: "db at 10.0.0.3 down", Err: errors.New("dial tcp")},
			want: "💥 **planbot hit an internal error.** The details are in the planbot logs; try again, or ask an administrator.\n"},
		{name: "plain error is internal", err: errors.New("open /etc/planbot/key.pem: permission denied"),
			want: "💥 **planbot hit an internal error.** The details are in the planbot logs; try again, or ask an administrator.\n"},
		{name: "token in message masked", err: planbot.Errorf(planbot.EINVALID, "bad token ghs_16C7e42F292c6912E7710c838347Ae178B4a"),
			want: "⚠️ **planbot could not run this command:** bad token ghs_***\n\nComment `/help` for the commands and their options.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(ErrorText(tc.err), tc.want); diff != "" {
				t.Errorf("ErrorText (-got +want):\n%s", diff)
			}
		})
	}
}

func TestStatusDescription(t *testing.T) {
	planned := tfResult("a", createOnly)
	planned.Changes = planbot.Changes{Add: 2, Change: 1, Destroy: 1, Replace: 1}
	failed := planbot.Result{Project: tf("b"), Status: planbot.StatusFailed}
	locked := planbot.Result{Project: tf("c"), Status: planbot.StatusLocked, LockedBy: 3}
	same := planbot.Result{Project: tf("d"), Status: planbot.StatusNoChange}
	applied := planbot.Result{Project: tf("e"), Status: planbot.StatusApplied}
	kust := planbot.Result{Project: tf("k"), Status: planbot.StatusPlanned, Manifest: &planbot.ManifestDiff{Added: 1, Changed: 2}}
	overlay := kust
	overlay.Project = planbot.Project{Name: "o", Dir: "o", Kind: planbot.KindKustomize}
	var many []planbot.Result
	for range 5000 {
		many = append(many, planned)
	}
	for _, tc := range []struct {
		name      string
		results   []planbot.Result
		wantState string
		wantDesc  string
	}{
		{name: "none", wantState: "success", wantDesc: "No projects changed"},
		{name: "planned", results: []planbot.Result{planned, same}, wantState: "success",
			wantDesc: "1 project planned: 3 to add, 1 to change, 2 to destroy (1 replaced)"},
		{name: "kustomize", results: []planbot.Result{kust}, wantState: "success",
			wantDesc: "1 project planned: 0 to add, 0 to change, 0 to destroy; 3 Kubernetes resources changed"},
		{name: "no changes", results: []planbot.Result{same, same}, wantState: "success", wantDesc: "No changes in 2 projects"},
		{name: "failed", results: []planbot.Result{planned, failed, locked}, wantState: "failure", wantDesc: "1 of 3 projects failed, 1 locked"},
		{name: "locked", results: []planbot.Result{planned, locked}, wantState: "failure", wantDesc: "1 of 2 projects locked by other pull requests"},
		{name: "applied", results: []planbot.Result{applied}, wantState: "success", wantDesc: "1 project applied"},
		{name: "opentofu", results: []planbot.Result{{Project: tofu("t"), Status: planbot.StatusNoChange}, overlay}, wantState: "success",
			wantDesc: "OpenTofu: 1 project planned: 0 to add, 0 to change, 0 to destroy; 3 Kubernetes resources changed"},
		{name: "terraform and opentofu", results: []planbot.Result{{Project: tofu("t"), Status: planbot.StatusNoChange}, same}, wantState: "success",
			wantDesc: "Terraform and OpenTofu: No changes in 2 projects"},
		{name: "long", results: many, wantState: "success",
			wantDesc: "5000 projects planned: 15000 to add, 5000 to change, 10000 to destroy (5000 replaced)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, desc := StatusDescription(tc.results)
			if diff := cmp.Diff([]string{state, desc}, []string{tc.wantState, tc.wantDesc}); diff != "" {
				t.Errorf("StatusDescription (-got +want):\n%s", diff)
			}
			if n := utf8.RuneCountInString(desc); n > 140 {
				t.Errorf("description has %d runes, want at most 140", n)
			}
		})
	}
}

func TestStatusDescriptionTruncates(t *testing.T) {
	const big = 999_999_999_999_999_999
	res := tfResult("a", "")
	res.Changes = planbot.Changes{Add: big, Change: big, Destroy: big, Replace: big}
	kust := planbot.Result{Project: tf("k"), Status: planbot.StatusPlanned, Manifest: &planbot.ManifestDiff{Added: big}}
	_, desc := StatusDescription([]planbot.Result{res, kust})
	if n := utf8.RuneCountInString(desc); n != 140 || !strings.HasSuffix(desc, "…") {
		t.Errorf("description %q has %d runes, want 140 ending in …", desc, n)
	}
}
