package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/store"
)

// testOpenPlans checks that OpenPlans returns the newest plan of each
// project of each PR, without plan data, and nothing of deleted plans.
func testOpenPlans(t *testing.T, s store.Store) {
	ctx := t.Context()
	save := func(repo string, pr int, head, project string, at time.Time) store.Plan {
		t.Helper()
		p := mustSavePlan(t, s, store.Plan{Repo: repo, PR: pr, HeadSHA: head, BaseSHA: "b", Project: project, Dir: project, Workspace: "default",
			Kind: "terraform", Status: "planned", PlanFile: "f", PlanSHA256: "s", PlanData: []byte("data"), Result: []byte(`{}`), CreatedAt: at})
		p.PlanData = nil // OpenPlans leaves it out
		return p
	}
	save("o/r", 1, "h1", "app", t0)
	app := save("o/r", 1, "h2", "app", t0.Add(time.Minute))
	net := save("o/r", 1, "h1", "net", t0)
	other := save("o/r", 2, "h9", "app", t0)
	elsewhere := save("o/x", 3, "h3", "db", t0)
	got, err := s.OpenPlans(ctx, "o/r")
	if err != nil {
		t.Fatalf("OpenPlans: %v", err)
	}
	if diff := cmp.Diff(got, []store.Plan{app, net, other}); diff != "" {
		t.Errorf("OpenPlans(o/r) mismatch (-got +want):\n%s", diff)
	}
	if _, err := s.DeletePlans(ctx, "o/r", 1); err != nil {
		t.Fatal(err)
	}
	got, err = s.OpenPlans(ctx, "")
	if err != nil {
		t.Fatalf("OpenPlans: %v", err)
	}
	if diff := cmp.Diff(got, []store.Plan{other, elsewhere}); diff != "" {
		t.Errorf("OpenPlans(all) after DeletePlans mismatch (-got +want):\n%s", diff)
	}
}

// testPullJobs checks that PullJobs lists a key's jobs newest first,
// without payload, up to the limit.
func testPullJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, key := range []string{"o/r#1", "o/r#2", "o/r#1", "o/r#1"} {
		if _, err := s.EnqueueDelivery(ctx, store.Job{DeliveryID: string(rune('a' + i)), Event: "pull_request", Payload: []byte("{}"), Key: key, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.PullJobs(ctx, "o/r#1", 2)
	if err != nil {
		t.Fatalf("PullJobs: %v", err)
	}
	var ids []string
	for _, j := range got {
		ids = append(ids, j.DeliveryID)
		if j.Payload != nil || j.State != store.JobQueued || j.Key != "o/r#1" {
			t.Errorf("job %+v: want no payload, queued, key o/r#1", j)
		}
	}
	if diff := cmp.Diff(ids, []string{"d", "c"}); diff != "" {
		t.Errorf("PullJobs mismatch (-got +want):\n%s", diff)
	}
}

// testLogs checks the live logs: chunks in order after an ID, runs newest
// first with their end, and pruning by age.
func testLogs(t *testing.T, s store.Store) {
	ctx := t.Context()
	add := func(run, project, text string, end bool, at time.Time) store.LogChunk {
		t.Helper()
		c := store.LogChunk{Repo: "o/r", PR: 1, Run: run, Project: project, Text: text, End: end, CreatedAt: at}
		id, err := s.AppendLog(ctx, c)
		if err != nil {
			t.Fatalf("AppendLog: %v", err)
		}
		c.ID = id
		return c
	}
	a1 := add("r1", "app", "line 1\n", false, t0)
	a2 := add("r1", "net", "line 2\nline 3\n", false, t0.Add(time.Second))
	b1 := add("r2", "app", "other run\n", false, t0.Add(time.Hour))
	a3 := add("r1", "", "planned", true, t0.Add(2*time.Second))
	if a2.ID <= a1.ID || b1.ID <= a2.ID || a3.ID <= b1.ID {
		t.Errorf("IDs not increasing: %d %d %d %d", a1.ID, a2.ID, b1.ID, a3.ID)
	}
	got, err := s.Log(ctx, "o/r", 1, "r1", 0, 100)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	if diff := cmp.Diff(got, []store.LogChunk{a1, a2, a3}); diff != "" {
		t.Errorf("Log mismatch (-got +want):\n%s", diff)
	}
	if got, _ = s.Log(ctx, "o/r", 1, "r1", a1.ID, 1); len(got) != 1 || got[0].ID != a2.ID {
		t.Errorf("Log after %d limit 1 = %+v, want chunk %d", a1.ID, got, a2.ID)
	}
	if got, _ = s.Log(ctx, "o/r", 2, "r1", 0, 100); len(got) != 0 {
		t.Errorf("Log of another PR = %+v, want none", got)
	}
	runs, err := s.LogRuns(ctx, "o/r", 1, 10)
	if err != nil {
		t.Fatalf("LogRuns: %v", err)
	}
	want := []store.LogRun{{Run: "r2", StartedAt: t0.Add(time.Hour)}, {Run: "r1", StartedAt: t0, Ended: true}}
	if diff := cmp.Diff(runs, want); diff != "" {
		t.Errorf("LogRuns mismatch (-got +want):\n%s", diff)
	}
	n, err := s.PruneLogs(ctx, t0.Add(time.Minute))
	if err != nil || n != 3 {
		t.Errorf("PruneLogs = %d, %v; want 3", n, err)
	}
	if runs, _ = s.LogRuns(ctx, "o/r", 1, 10); len(runs) != 1 || runs[0].Run != "r2" {
		t.Errorf("LogRuns after prune = %+v, want r2 only", runs)
	}
}
