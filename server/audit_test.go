package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/audit/auditcmd"
)

// runAudit runs `planbot audit` against the test server's database.
func (e *testEnv) runAudit(args ...string) (code int, stdout, stderr string) {
	open := func(ctx context.Context, database string) (auditcmd.Lister, func() error, error) {
		st, err := OpenStore(ctx, database, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
	var out, errb bytes.Buffer
	code = auditcmd.Main(context.Background(), append([]string{"--data-dir=" + e.dataDir}, args...), open, &out, &errb)
	return code, out.String(), errb.String()
}

// TestAuditTrail plans, approves, applies and merges a PR and reads the
// audit log back: the entries are in order, name the approver and the rule
// that made the approval count, carry the plan hash, and the chain
// verifies until a row is edited in the database.
func TestAuditTrail(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	pr := e.openPlanned("audited", "carol", devChange("dev-audit"), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	if reply := e.command(pr.Number, "bob", "/apply"); !strings.Contains(reply, "merged") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	merged := gh.PR(testRepo, pr.Number)

	code, out, stderr := e.runAudit("--json", "--pr", itoa(pr.Number))
	if code != 0 {
		t.Fatalf("planbot audit --json: exit %d: %s", code, stderr)
	}
	var entries []audit.Entry
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var en audit.Entry
		if err := json.Unmarshal([]byte(line), &en); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		entries = append(entries, en)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	want := []string{audit.ActionPlan, audit.ActionApplyRequested, audit.ActionApply, audit.ActionApplyRequested, audit.ActionMerge}
	if diff := cmp.Diff(actions, want); diff != "" {
		t.Fatalf("audit actions (-got +want):\n%s", diff)
	}
	plan, applied, merge := entries[0], entries[2], entries[4]
	if plan.PlanSHA256 == "" || applied.PlanSHA256 != plan.PlanSHA256 {
		t.Errorf("plan hash: plan %q, apply %q", plan.PlanSHA256, applied.PlanSHA256)
	}
	if applied.Actor != "bob" || applied.Outcome != "applied" || applied.HeadSHA != pr.HeadSHA {
		t.Errorf("apply entry = %+v", applied)
	}
	if len(applied.Approvers) != 1 || applied.Approvers[0].Login != "dave" || !strings.Contains(applied.Approvers[0].Rule, "@acme/platform") {
		t.Errorf("approvers = %+v, want dave via the @acme/platform rule", applied.Approvers)
	}
	if merge.Outcome != "merged" || merge.Detail != merged.MergeCommitSHA {
		t.Errorf("merge entry = %+v, want merge sha %s", merge, merged.MergeCommitSHA)
	}

	if code, out, stderr := e.runAudit("--verify"); code != 0 {
		t.Fatalf("--verify on an intact log: exit %d\n%s%s", code, out, stderr)
	}
	db, err := sql.Open("sqlite", filepath.Join(e.dataDir, "planbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit SET detail = 'nothing to see' WHERE seq = ?`, applied.Seq); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = e.runAudit("--verify")
	if code != 1 || !strings.Contains(out+stderr, "seq "+itoa(int(applied.Seq))) {
		t.Fatalf("--verify after tampering: exit %d, output %q %q; want exit 1 naming seq %d", code, out, stderr, applied.Seq)
	}
}
