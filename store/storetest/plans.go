package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/store"
)

// mustLocks returns the locks of repo ("" for all).
func mustLocks(t *testing.T, s store.Store, repo string) []store.Lock {
	t.Helper()
	locks, err := s.Locks(t.Context(), repo)
	return must(t, locks, err, "Locks(%q)", repo)
}

// mustSavePlan saves p and returns it with its id.
func mustSavePlan(t *testing.T, s store.Store, p store.Plan) store.Plan {
	t.Helper()
	id, err := s.SavePlan(t.Context(), p)
	p.ID = must(t, id, err, "SavePlan(%s@%s)", p.Project, p.HeadSHA)
	return p
}

// mustLatestPlan returns the latest plan of a project of a PR.
func mustLatestPlan(t *testing.T, s store.Store, repo string, pr int, project string) *store.Plan {
	t.Helper()
	p, err := s.LatestPlan(t.Context(), repo, pr, project)
	return must(t, p, err, "LatestPlan(%s#%d %s)", repo, pr, project)
}

// testLocks checks that a PR takes a free lock and takes it again at a new
// head, that another PR is refused and told the holder, and how locks are
// released.
func testLocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	l1 := store.Lock{Repo: "o/r", Dir: "infra/prod", Workspace: "default", PR: 1, HeadSHA: "aaa", User: "alice", CreatedAt: t0}

	holder, ok, err := s.AcquireLock(ctx, l1)
	if err != nil || !ok {
		t.Fatalf("AcquireLock(free) = %v, %v; want true, nil", ok, err)
	}
	if diff := cmp.Diff(holder, l1); diff != "" {
		t.Errorf("holder mismatch (-got +want):\n%s", diff)
	}

	// The same PR takes it again at a new head; the creation time stays.
	again := l1
	again.HeadSHA, again.User, again.CreatedAt = "bbb", "bob", t0.Add(time.Hour)
	holder, ok, err = s.AcquireLock(ctx, again)
	if err != nil || !ok {
		t.Fatalf("AcquireLock(same PR) = %v, %v; want true, nil", ok, err)
	}
	want := l1
	want.HeadSHA, want.User = "bbb", "bob"
	if diff := cmp.Diff(holder, want); diff != "" {
		t.Errorf("re-acquired holder mismatch (-got +want):\n%s", diff)
	}

	// Another PR is refused and told who holds the lock.
	other := store.Lock{Repo: "o/r", Dir: "infra/prod", Workspace: "default", PR: 2, HeadSHA: "ccc", User: "carol"}
	holder, ok, err = s.AcquireLock(ctx, other)
	if err != nil || ok {
		t.Fatalf("AcquireLock(held by another PR) = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(holder, want); diff != "" {
		t.Errorf("conflict holder mismatch (-got +want):\n%s", diff)
	}
	// Another workspace of the same dir is a different lock.
	otherWS := other
	otherWS.Workspace = "staging"
	if _, ok, err := s.AcquireLock(ctx, otherWS); err != nil || !ok {
		t.Fatalf("AcquireLock(other workspace) = %v, %v; want true, nil", ok, err)
	}
	if locks := mustLocks(t, s, "o/r"); len(locks) != 2 || locks[0].Workspace != "default" || locks[1].Workspace != "staging" {
		t.Errorf("Locks(o/r) = %+v; want default then staging", locks)
	}
	checkReleaseLock(t, s, other)
}

// checkReleaseLock checks, on the locks testLocks leaves (o/r infra/prod
// held by PR 1 in workspace default, and in staging), that only the
// holder releases a lock, once, and that PR 0 releases whoever holds it.
// other is PR 2's lock of the default workspace.
func checkReleaseLock(t *testing.T, s store.Store, other store.Lock) {
	ctx := t.Context()
	tests := []struct {
		name string
		pr   int
		want bool
	}{
		{name: "other PR", pr: 2, want: false},
		{name: "holder", pr: 1, want: true},
		{name: "already released", pr: 1, want: false},
	}
	for _, tt := range tests {
		got, err := s.ReleaseLock(ctx, "o/r", "infra/prod", "default", tt.pr)
		if err != nil {
			t.Fatalf("ReleaseLock(%s): %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("ReleaseLock(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
	// PR 2 can now take it; pr 0 releases whoever holds a lock.
	if _, ok, err := s.AcquireLock(ctx, other); err != nil || !ok {
		t.Fatalf("AcquireLock(after release) = %v, %v; want true, nil", ok, err)
	}
	if got, err := s.ReleaseLock(ctx, "o/r", "infra/prod", "default", 0); err != nil || !got {
		t.Errorf("ReleaseLock(pr 0) = %v, %v; want true, nil", got, err)
	}
	if locks := mustLocks(t, s, "o/r"); len(locks) != 1 || locks[0].Workspace != "staging" {
		t.Errorf("Locks(o/r) after releases = %+v; want only staging", locks)
	}
}

func testReleasePR(t *testing.T, s store.Store) {
	ctx := t.Context()
	acquire := []store.Lock{
		{Repo: "o/r", Dir: "b", Workspace: "default", PR: 1, HeadSHA: "a1", User: "u", CreatedAt: t0},
		{Repo: "o/r", Dir: "a", Workspace: "default", PR: 1, HeadSHA: "a1", User: "u", CreatedAt: t0},
		{Repo: "o/r", Dir: "c", Workspace: "default", PR: 2, HeadSHA: "b1", User: "v", CreatedAt: t0},
		{Repo: "o/other", Dir: "a", Workspace: "default", PR: 1, HeadSHA: "c1", User: "w", CreatedAt: t0},
	}
	for _, l := range acquire {
		if _, ok, err := s.AcquireLock(ctx, l); err != nil || !ok {
			t.Fatalf("AcquireLock(%+v) = %v, %v", l, ok, err)
		}
	}
	if diff := cmp.Diff(mustLocks(t, s, ""), []store.Lock{acquire[3], acquire[1], acquire[0], acquire[2]}); diff != "" {
		t.Errorf("Locks(all) mismatch (-got +want):\n%s", diff)
	}
	released, err := s.ReleasePR(ctx, "o/r", 1)
	if err != nil {
		t.Fatalf("ReleasePR: %v", err)
	}
	if diff := cmp.Diff(released, []store.Lock{acquire[1], acquire[0]}); diff != "" {
		t.Errorf("ReleasePR mismatch (-got +want):\n%s", diff)
	}
	released, err = s.ReleasePR(ctx, "o/r", 1)
	if err != nil || len(released) != 0 {
		t.Errorf("ReleasePR(again) = %+v, %v; want none", released, err)
	}
	if diff := cmp.Diff(mustLocks(t, s, ""), []store.Lock{acquire[3], acquire[2]}); diff != "" {
		t.Errorf("Locks after ReleasePR mismatch (-got +want):\n%s", diff)
	}
}

func testPlans(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LatestPlan(ctx, "o/r", 1, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestPlan(none) error = %v; want ErrNotFound", err)
	}
	base := store.Plan{Repo: "o/r", PR: 1, HeadSHA: "h1", BaseSHA: "b1", Dir: "infra", Workspace: "default",
		Kind: "terraform", Status: "planned", PlanFile: "/plans/1", PlanSHA256: "abc", Result: []byte(`{"ok":true}`)}

	app := base
	app.Project, app.CreatedAt = "app", t0
	app = mustSavePlan(t, s, app)
	replaced := app
	replaced.Status, replaced.PlanSHA256, replaced.CreatedAt = "errored", "def", t0.Add(time.Minute)
	replaced = mustSavePlan(t, s, replaced)
	db := base
	db.Project, db.Dir, db.Kind, db.CreatedAt = "db", "db", "kustomize", t0.Add(2*time.Minute)
	db = mustSavePlan(t, s, db)

	got, err := s.Plans(ctx, "o/r", 1, "h1")
	if err != nil {
		t.Fatalf("Plans: %v", err)
	}
	if diff := cmp.Diff(got, []store.Plan{replaced, db}); diff != "" {
		t.Errorf("Plans(h1) mismatch (-got +want):\n%s", diff)
	}

	testPlanData(t, s)

	newer := base
	newer.Project, newer.HeadSHA, newer.CreatedAt = "app", "h2", t0.Add(time.Hour)
	newer = mustSavePlan(t, s, newer)
	if diff := cmp.Diff(mustLatestPlan(t, s, "o/r", 1, "app"), &newer); diff != "" {
		t.Errorf("LatestPlan mismatch (-got +want):\n%s", diff)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 2, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestPlan(other PR) error = %v; want ErrNotFound", err)
	}
	if got, err := s.Plans(ctx, "o/r", 1, "h3"); err != nil || len(got) != 0 {
		t.Errorf("Plans(unknown head) = %+v, %v; want none", got, err)
	}

	other := base
	other.PR, other.Project = 2, "app"
	mustSavePlan(t, s, other)
	n, err := s.DeletePlans(ctx, "o/r", 1)
	if err != nil {
		t.Fatalf("DeletePlans: %v", err)
	}
	if n < 3 {
		t.Errorf("DeletePlans deleted %d plans; want every plan of PR 1 (at least 3)", n)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 1, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestPlan after DeletePlans: %v; want ErrNotFound", err)
	}
	if _, err := s.LatestPlan(ctx, "o/r", 2, "app"); err != nil {
		t.Errorf("DeletePlans(PR 1) deleted PR 2's plan: %v", err)
	}
	if n, err := s.DeletePlans(ctx, "o/r", 1); err != nil || n != 0 {
		t.Errorf("second DeletePlans = %d, %v; want 0", n, err)
	}
}

// testPlanData checks that a plan file's bytes round-trip exactly through
// SavePlan, LatestPlan and Plans, that replacing a plan replaces its bytes,
// and that nil and empty PlanData both come back nil.
func testPlanData(t *testing.T, s store.Store) {
	// Every byte value, including NUL and invalid UTF-8, in a file larger
	// than one page.
	big := make([]byte, 300<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	tests := []struct {
		name string
		data []byte
		want []byte
	}{
		{name: "binary", data: big, want: big},
		{name: "small", data: []byte("PK\x03\x04plan"), want: []byte("PK\x03\x04plan")},
		{name: "nil", data: nil, want: nil},
		{name: "empty", data: []byte{}, want: nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := 100 + i
			want := mustSavePlan(t, s, store.Plan{Repo: "o/data", PR: pr, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
				Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/x", PlanSHA256: "abc",
				PlanData: tt.data, Result: []byte(`{}`), CreatedAt: t0})
			want.PlanData = tt.want
			if diff := cmp.Diff(mustLatestPlan(t, s, "o/data", pr, "app"), &want); diff != "" {
				t.Errorf("LatestPlan mismatch (-got +want):\n%s", diff)
			}
			plans, err := s.Plans(t.Context(), "o/data", pr, "h1")
			if err != nil {
				t.Fatalf("Plans: %v", err)
			}
			if diff := cmp.Diff(plans, []store.Plan{want}); diff != "" {
				t.Errorf("Plans mismatch (-got +want):\n%s", diff)
			}
		})
	}
	t.Run("replace", func(t *testing.T) { testPlanDataReplace(t, s) })
}

// testPlanDataReplace checks that a replanned project (same head SHA)
// replaces the stored bytes, and that a failed replan leaves no stale plan
// file behind.
func testPlanDataReplace(t *testing.T, s store.Store) {
	p := store.Plan{Repo: "o/data", PR: 200, HeadSHA: "h1", BaseSHA: "b1", Project: "app", Dir: "infra",
		Workspace: "default", Kind: "terraform", Status: "planned", PlanFile: "/plans/y", PlanSHA256: "abc",
		PlanData: []byte("first"), Result: []byte(`{}`), CreatedAt: t0}
	mustSavePlan(t, s, p)
	p.PlanData, p.CreatedAt = []byte("second"), t0.Add(time.Minute)
	mustSavePlan(t, s, p)
	if diff := cmp.Diff(mustLatestPlan(t, s, "o/data", 200, "app").PlanData, []byte("second")); diff != "" {
		t.Errorf("PlanData after replan mismatch (-got +want):\n%s", diff)
	}
	p.Status, p.PlanData, p.CreatedAt = "errored", nil, t0.Add(2*time.Minute)
	mustSavePlan(t, s, p)
	if latest := mustLatestPlan(t, s, "o/data", 200, "app"); latest.PlanData != nil {
		t.Errorf("PlanData after failed replan = %q; want nil", latest.PlanData)
	}
}

func testPlanComment(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.PlanComment(ctx, "acme/infra", 1)
	if err != nil || len(got) != 0 {
		t.Fatalf("PlanComment of an unknown PR = %v, %v; want none", got, err)
	}
	two := []store.CommentPart{{Part: 1, ID: 2_000_000_001, BodySHA256: "aa"}, {Part: 2, ID: 9_007_199_254_740_993, BodySHA256: "bb"}}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, two); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePlanComment(ctx, "acme/infra", 2, []store.CommentPart{{Part: 1, ID: 7, BodySHA256: "cc"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || !cmp.Equal(got, two) {
		t.Fatalf("PlanComment = %v, %v; want %v", got, err, two)
	}
	// Saving replaces every part: a shorter comment forgets the rest.
	one := []store.CommentPart{{Part: 1, ID: 2_000_000_001, BodySHA256: "dd"}}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, one); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || !cmp.Equal(got, one) {
		t.Fatalf("PlanComment after replacing = %v, %v; want %v", got, err, one)
	}
	if err := s.SavePlanComment(ctx, "acme/infra", 1, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 1); err != nil || len(got) != 0 {
		t.Fatalf("PlanComment after forgetting = %v, %v; want none", got, err)
	}
	if got, err := s.PlanComment(ctx, "acme/infra", 2); err != nil || len(got) != 1 || got[0].ID != 7 {
		t.Fatalf("another PR's plan comment = %v, %v; want kept", got, err)
	}
}
