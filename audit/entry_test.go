package audit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLinkVerify builds a chain with Link and checks that Verify accepts it
// and names the first entry that was changed, removed or linked wrongly.
func TestLinkVerify(t *testing.T) {
	var chain []Entry
	var seq int64
	var hash string
	for i, action := range []string{ActionPlan, ActionApplyRequested, ActionApply, ActionMerge} {
		e := Entry{Time: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), Repo: "acme/infra", PR: 7, Action: action}.Link(seq, hash)
		chain = append(chain, e)
		seq, hash = e.Seq, e.Hash
	}
	if chain[0].Seq != 1 || chain[0].PrevHash != "" || chain[1].PrevHash != chain[0].Hash {
		t.Fatalf("Link: %+v", chain[:2])
	}
	if bad, ok := Verify(chain); !ok {
		t.Fatalf("intact chain broken at seq %d", bad)
	}
	edited := append([]Entry(nil), chain...)
	edited[2].Detail = "changed"
	if bad, ok := Verify(edited); ok || bad != 3 {
		t.Errorf("edited entry: Verify = %d, %v; want 3, false", bad, ok)
	}
	removed := append(append([]Entry(nil), chain[:1]...), chain[2:]...)
	if bad, ok := Verify(removed); ok || bad != 3 {
		t.Errorf("removed entry: Verify = %d, %v; want 3, false", bad, ok)
	}
}

// TestPendingApplies checks which apply intents count as having no
// outcome: only a project's apply_requested entry with no apply or
// apply_interrupted entry under the same repo, PR, head, project and
// delivery.
func TestPendingApplies(t *testing.T) {
	intent := func(head, project, delivery string) Entry {
		return Entry{Repo: "acme/infra", PR: 7, HeadSHA: head, Project: project, Action: ActionApplyRequested, Outcome: "started", DeliveryID: delivery}
	}
	with := func(e Entry, action, outcome string) Entry {
		e.Action, e.Outcome = action, outcome
		return e
	}
	a := intent("h1", "envs/dev", "d1")
	tests := []struct {
		name    string
		entries []Entry
		want    []Entry
	}{
		{name: "no entries"},
		{name: "intent alone", entries: []Entry{a}, want: []Entry{a}},
		{name: "applied", entries: []Entry{a, with(a, ActionApply, "applied")}},
		{name: "failed", entries: []Entry{a, with(a, ActionApply, "failed")}},
		{name: "dry run", entries: []Entry{a, with(a, ActionApply, "dry_run")}},
		{name: "interrupted", entries: []Entry{a, with(a, ActionApplyInterrupted, "unknown")}},
		{
			name:    "a fresh request after the interruption",
			entries: []Entry{a, with(a, ActionApplyInterrupted, "unknown"), intent("h1", "envs/dev", "d2")},
			want:    []Entry{intent("h1", "envs/dev", "d2")},
		},
		{
			name: "an outcome of another delivery, head, project or PR does not count",
			entries: []Entry{a,
				with(intent("h1", "envs/dev", "d2"), ActionApply, "applied"),
				with(intent("h2", "envs/dev", "d1"), ActionApply, "applied"),
				with(intent("h1", "envs/prod", "d1"), ActionApply, "applied"),
				func() Entry { e := with(a, ActionApply, "applied"); e.PR = 8; return e }(),
			},
			want: []Entry{a},
		},
		{name: "a refusal is no outcome", entries: []Entry{a, with(a, ActionApplyRefused, "refused")}, want: []Entry{a}},
		{name: "the merge's intent is not an apply", entries: []Entry{intent("h1", "", "d1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(PendingApplies(tt.entries), tt.want); diff != "" {
				t.Errorf("PendingApplies (-got +want):\n%s", diff)
			}
		})
	}
}

// TestComputeHashStable pins the hash of an entry with every field set:
// every stored chain was linked with this canonical form, so a change to
// it (a field's name, order or format) would make Verify reject them all.
func TestComputeHashStable(t *testing.T) {
	e := Entry{Seq: 3, Time: time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", 3600)),
		Repo: "acme/infra", PR: 7, HeadSHA: "h", BaseSHA: "b", Project: "envs/dev", Action: ActionApply, Actor: "alice",
		Approvers: []Approver{{Login: "bob", Rule: "* @bob"}}, Outcome: "applied", Detail: "<ok> & \"fine\"",
		PlanSHA256: "p", DeliveryID: "d", PrevHash: "prev", Hash: "not hashed"}
	const want = "9973cd1097f10f602f8a88b1485230fd75601346987740b2a337d9d5e450d895"
	if got := e.ComputeHash(); got != want {
		t.Errorf("ComputeHash = %s; want %s", got, want)
	}
}
