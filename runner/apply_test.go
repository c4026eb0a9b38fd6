package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/runner/terraform"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/workspaces"
)

// auditLog is a store whose audit log is a slice, keyed like a real one,
// and whose appends fail while failing is set. Only the methods merge and
// applyOne use are implemented.
type auditLog struct {
	store.Store
	failing  bool
	entries  []audit.Entry
	released int
}

func (s *auditLog) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error) {
	if s.failing {
		return audit.Entry{}, false, errors.New("disk I/O error")
	}
	for _, old := range s.entries {
		if old.IdempotencyKey() == e.IdempotencyKey() {
			return old, false, nil
		}
	}
	e = e.Link(int64(len(s.entries)), "")
	s.entries = append(s.entries, e)
	return e, true, nil
}

func (s *auditLog) ReleasePR(ctx context.Context, repo string, pr int) ([]store.Lock, error) {
	s.released++
	return nil, nil
}

// merger records the merges and statuses asked of GitHub.
type merger struct {
	merges   []string
	statuses []string
	// targets are the statuses' target URLs.
	targets []string
	err     error
	// allowed is the first method the repository allows ("" is merge);
	// merging with another fails as GitHub does.
	allowed string
	// settingsRead counts the reads of the repository's settings.
	settingsRead int
	// statusesAtMerge is how many statuses were set when each merge came.
	statusesAtMerge []int
}

func (m *merger) Merge(ctx context.Context, repo planbot.Repo, number int, sha, method, title string) (string, error) {
	m.merges = append(m.merges, fmt.Sprintf("%s#%d@%s %s", repo, number, sha, method))
	m.statusesAtMerge = append(m.statusesAtMerge, len(m.statuses))
	if m.err != nil {
		return "", m.err
	}
	if m.allowed != "" && method != m.allowed {
		return "", planbot.Errorf(planbot.EINVALID, "merge: %s merges are not allowed on this repository.", method)
	}
	return "m3rg3", nil
}

func (m *merger) DefaultMergeMethod(ctx context.Context, repo planbot.Repo) (string, error) {
	m.settingsRead++
	if m.allowed != "" {
		return m.allowed, nil
	}
	return "merge", nil
}

func (m *merger) SetStatus(ctx context.Context, repo planbot.Repo, sha, context, state, description, targetURL string) error {
	m.statuses = append(m.statuses, state+": "+description)
	m.targets = append(m.targets, targetURL)
	return nil
}

// TestMergeIntent checks that the merge runs only after its intent is in
// the audit log, and that a dry-run merge is audited as dry_run.
func TestMergeIntent(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, HeadSHA: "abc1234def", BaseRef: "main", Title: "T"}
	req := ApplyRequest{Repo: pr.Repo, Number: 7, Actor: "bob", Delivery: "d1"}
	tests := []struct {
		name         string
		failing      bool
		mergeErr     error
		wantMerges   int
		wantActions  []string
		wantOutcome  string
		wantReply    string
		wantReleased int
	}{
		{
			name: "merged after its intent", wantMerges: 1,
			wantActions: []string{audit.ActionApplyRequested, audit.ActionMerge}, wantOutcome: "merged",
			wantReply: "merged as", wantReleased: 1,
		},
		{
			name: "intent cannot be written: aborted", failing: true,
			wantReply: "Not merged",
		},
		{
			name: "dry run", mergeErr: fmt.Errorf("merge: %w", planbot.ErrDryRun), wantMerges: 1,
			wantActions: []string{audit.ActionApplyRequested, audit.ActionMerge}, wantOutcome: "dry_run",
			wantReply: "dry run: not merged",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &auditLog{failing: tt.failing}
			a := &Applier{Locks: st, Plans: st, Audit: st, Logger: slog.New(slog.DiscardHandler)}
			gh := &merger{err: tt.mergeErr}
			reply, _ := a.merge(context.Background(), gh, req, pr, "", clearance{}, a.Logger)
			if len(gh.merges) != tt.wantMerges {
				t.Errorf("merges = %q, want %d", gh.merges, tt.wantMerges)
			}
			var actions []string
			for _, e := range st.entries {
				actions = append(actions, e.Action)
			}
			if diff := cmp.Diff(actions, tt.wantActions); diff != "" {
				t.Errorf("audit actions (-got +want):\n%s", diff)
			}
			if tt.wantOutcome != "" && st.entries[len(st.entries)-1].Outcome != tt.wantOutcome {
				t.Errorf("merge outcome = %q, want %q", st.entries[len(st.entries)-1].Outcome, tt.wantOutcome)
			}
			if !strings.Contains(reply, tt.wantReply) {
				t.Errorf("reply %q lacks %q", reply, tt.wantReply)
			}
			if st.released != tt.wantReleased {
				t.Errorf("locks released %d times, want %d", st.released, tt.wantReleased)
			}
			if tt.failing && (len(gh.statuses) == 0 || !strings.HasPrefix(gh.statuses[len(gh.statuses)-1], "failure")) {
				t.Errorf("statuses = %q, want a failure", gh.statuses)
			}
		})
	}
}

// TestMergeMethod checks that a merge without a configured method tries a
// merge commit first and reads the repository's settings only when that
// fails: it then merges with the method they allow, or reports the
// merge's own error when merge commits were allowed after all.
func TestMergeMethod(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, HeadSHA: "abc1234def", BaseRef: "main", Title: "T"}
	req := ApplyRequest{Repo: pr.Repo, Number: 7, Actor: "bob", Delivery: "d1"}
	tests := []struct {
		name, configured, allowed string
		err                       error
		wantMerges                []string
		wantSettingsRead          int
		wantMerged                bool
	}{
		{name: "merge commits allowed: one call", wantMerges: []string{"merge"}, wantMerged: true},
		{name: "configured method: used as is", configured: "rebase", allowed: "rebase", wantMerges: []string{"rebase"}, wantMerged: true},
		{name: "squash only: settings read, merged with squash", allowed: "squash", wantMerges: []string{"merge", "squash"}, wantSettingsRead: 1, wantMerged: true},
		{name: "not mergeable: the merge's own error", err: planbot.Errorf(planbot.EINVALID, "Pull Request is not mergeable"), wantMerges: []string{"merge"}, wantSettingsRead: 1},
		{name: "head moved: no settings read", err: planbot.Errorf(planbot.ECONFLICT, "Head branch was modified"), wantMerges: []string{"merge"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &auditLog{}
			a := &Applier{Locks: st, Plans: st, Audit: st, Logger: slog.New(slog.DiscardHandler)}
			gh := &merger{err: tt.err, allowed: tt.allowed}
			reply, merged := a.merge(context.Background(), gh, req, pr, tt.configured, clearance{}, a.Logger)
			var methods []string
			for _, m := range gh.merges {
				methods = append(methods, m[strings.LastIndex(m, " ")+1:])
			}
			if diff := cmp.Diff(methods, tt.wantMerges); diff != "" {
				t.Errorf("merge methods tried (-got +want):\n%s", diff)
			}
			if gh.settingsRead != tt.wantSettingsRead {
				t.Errorf("settings read %d times, want %d", gh.settingsRead, tt.wantSettingsRead)
			}
			if merged != tt.wantMerged {
				t.Errorf("merged = %v, want %v; reply %q", merged, tt.wantMerged, reply)
			}
			if !merged && tt.err != nil && !strings.Contains(reply, planbot.ErrorMessage(tt.err)) {
				t.Errorf("reply %q lacks the merge's error %q", reply, planbot.ErrorMessage(tt.err))
			}
		})
	}
}

// TestMergeStatus checks that planbot/apply is success before the merge,
// so that branch protection may require it, and so that a merged pull
// request never shows an earlier refusal or failure at its head; a merge
// that fails then sets it to failure.
func TestMergeStatus(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, HeadSHA: "h1", BaseRef: "main", State: "open"}
	req := ApplyRequest{Repo: pr.Repo, Number: 7, Actor: "bob", Delivery: "d2"}
	for _, tt := range []struct {
		name string
		err  error
		want []string
	}{
		{name: "merged", want: []string{"success: applied"}},
		{name: "merge refused", err: planbot.Errorf(planbot.ECONFLICT, "Pull Request is not mergeable"),
			want: []string{"success: applied", "failure: applied, but the merge failed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &auditLog{}
			a := &Applier{Locks: st, Plans: st, Audit: st, Logger: slog.New(slog.DiscardHandler)}
			gh := &merger{err: tt.err, allowed: "merge"}
			if _, merged := a.merge(context.Background(), gh, req, pr, "merge", clearance{}, a.Logger); merged != (tt.err == nil) {
				t.Fatalf("merged = %v", merged)
			}
			if diff := cmp.Diff(gh.statuses, tt.want); diff != "" {
				t.Errorf("statuses (-got +want):\n%s", diff)
			}
			if len(gh.statusesAtMerge) != 1 || gh.statusesAtMerge[0] != 1 {
				t.Errorf("statuses set before each merge: %v, want [1]", gh.statusesAtMerge)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "done", want: "applied"},
		{name: "dry run", err: fmt.Errorf("terraform apply: %w", planbot.ErrDryRun), want: "dry_run"},
		{name: "failed", err: errors.New("exit status 1"), want: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcome(tt.err, "applied"); got != tt.want {
				t.Errorf("outcome(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestPendingAppliesOfSelection(t *testing.T) {
	intent := func(seq int64, head, project string) audit.Entry {
		return audit.Entry{Seq: seq, Repo: "acme/infra", PR: 7, HeadSHA: head, Project: project, Action: audit.ActionApplyRequested, DeliveryID: "d"}
	}
	history := []audit.Entry{intent(1, "h1", "envs/dev"), intent(2, "h0", "envs/dev"), intent(3, "h1", "envs/prod")}
	got := pendingApplies(history, "h1", []store.Plan{{Project: "envs/dev"}})
	if diff := cmp.Diff(got, []audit.Entry{intent(1, "h1", "envs/dev")}); diff != "" {
		t.Errorf("pendingApplies (-got +want):\n%s", diff)
	}
}

func TestReplanNeeded(t *testing.T) {
	e := func(seq int64, head, project, action string) audit.Entry {
		return audit.Entry{Seq: seq, HeadSHA: head, Project: project, Action: action}
	}
	tests := []struct {
		name    string
		history []audit.Entry
		want    bool
	}{
		{name: "never interrupted", history: []audit.Entry{e(1, "h1", "dev", audit.ActionPlan)}},
		{
			name:    "plan before the interruption",
			history: []audit.Entry{e(1, "h1", "dev", audit.ActionPlan), e(2, "h1", "dev", audit.ActionApplyRequested), e(3, "h1", "dev", audit.ActionApplyInterrupted)},
			want:    true,
		},
		{
			name:    "planned again after it",
			history: []audit.Entry{e(1, "h1", "dev", audit.ActionPlan), e(3, "h1", "dev", audit.ActionApplyInterrupted), e(4, "h1", "dev", audit.ActionPlan)},
		},
		{
			name:    "another head or project",
			history: []audit.Entry{e(1, "h1", "dev", audit.ActionPlan), e(3, "h0", "dev", audit.ActionApplyInterrupted), e(4, "h1", "prod", audit.ActionApplyInterrupted)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := replanNeeded(tt.history, "h1", "dev"); got != tt.want {
				t.Errorf("replanNeeded = %v, want %v", got, tt.want)
			}
		})
	}
}

func (s *auditLog) SavePlan(ctx context.Context, p store.Plan) (int64, error) { return p.ID, nil }

// countingTerraform counts applies.
type countingTerraform struct{ applies int }

func (c *countingTerraform) Prepare(ctx context.Context, dir, workspace string, _ ...terraform.RunOption) error {
	return nil
}

func (c *countingTerraform) Apply(ctx context.Context, dir, planFile, wantSHA256 string, _ ...terraform.RunOption) (string, error) {
	c.applies++
	return "Apply complete!", nil
}

// TestApplyOncePerDelivery checks that applyOne never runs terraform for
// an intent its delivery already wrote, whatever Apply checked before.
func TestApplyOncePerDelivery(t *testing.T) {
	planFile := writePlanFile(t)
	sum, _ := terraform.FileSHA256(planFile)
	plan := store.Plan{Repo: "acme/infra", PR: 7, HeadSHA: "h1", Project: "envs/dev", Dir: "envs/dev", Kind: "terraform",
		Status: string(planbot.StatusPlanned), PlanFile: planFile, PlanSHA256: sum}
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "acme", Name: "infra"}, Number: 7, HeadSHA: "h1"}
	req := ApplyRequest{Repo: pr.Repo, Number: 7, Actor: "bob", Delivery: "d1"}
	for _, replay := range []bool{false, true} {
		t.Run(fmt.Sprintf("replay=%v", replay), func(t *testing.T) {
			st := &auditLog{}
			tf := &countingTerraform{}
			ws, err := workspaces.New(t.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			a := &Applier{Locks: st, Plans: st, Audit: st, Terraform: tf, Workspaces: ws, Logger: slog.New(slog.DiscardHandler)}
			if replay {
				st.AppendAudit(context.Background(), audit.Entry{Repo: "acme/infra", PR: 7, HeadSHA: "h1", Project: "envs/dev",
					Action: audit.ActionApplyRequested, Outcome: "started", DeliveryID: "d1"})
			}
			msg, err := a.applyOne(context.Background(), req, workspaces.Source{}, pr, plan, nil, a.Logger)
			want, wantAction := 1, audit.ActionApply
			if replay {
				want, wantAction = 0, audit.ActionApplyInterrupted
				if err == nil || !strings.Contains(msg, "interrupted") {
					t.Errorf("replayed applyOne = %q, %v; want the interrupted reply and an error", msg, err)
				}
			}
			if tf.applies != want {
				t.Errorf("terraform applies = %d, want %d", tf.applies, want)
			}
			if last := st.entries[len(st.entries)-1]; last.Action != wantAction {
				t.Errorf("last audit entry = %s %s, want %s", last.Action, last.Outcome, wantAction)
			}
		})
	}
}
