package audit

import (
	"testing"
	"time"
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
