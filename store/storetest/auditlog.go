package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// entry returns a test audit entry.
func entry(repo string, pr int, action, delivery string) audit.Entry {
	return audit.Entry{
		Repo: repo, PR: pr, HeadSHA: "h" + delivery, BaseSHA: "b", Project: "app", Action: action,
		Actor: "alice", Outcome: "ok", Detail: "d", PlanSHA256: "p", DeliveryID: delivery,
	}
}

func mustAppend(t *testing.T, s store.Store, e audit.Entry) audit.Entry {
	t.Helper()
	got, ok, err := s.AppendAudit(t.Context(), e)
	if err != nil || !ok {
		t.Fatalf("AppendAudit(%s) = %v, %v; want inserted", e.DeliveryID, ok, err)
	}
	return got
}

func mustAudit(t *testing.T, s store.Store, f store.AuditFilter) []audit.Entry {
	t.Helper()
	got, err := s.Audit(t.Context(), f)
	return must(t, got, err, "Audit(%+v)", f)
}

func testAuditChain(t *testing.T, s store.Store) {
	var stored []audit.Entry
	for i, action := range []string{audit.ActionPlan, audit.ActionApplyRequested, audit.ActionApply} {
		e := entry("o/r", 1, action, fmt.Sprintf("d%d", i))
		e.Time = t0.Add(time.Duration(i) * time.Second)
		if i == 1 {
			e.Approvers = []audit.Approver{{Login: "bob", Rule: "/infra/ @o/sre"}, {Login: "carol", Rule: "*"}}
		}
		got := mustAppend(t, s, e)
		e.Seq = int64(i + 1)
		if i > 0 {
			e.PrevHash = stored[i-1].Hash
		}
		if e.Approvers == nil {
			e.Approvers = []audit.Approver{}
		}
		e.Hash = e.ComputeHash()
		if diff := cmp.Diff(got, e); diff != "" {
			t.Errorf("AppendAudit(%d) mismatch (-got +want):\n%s", i, diff)
		}
		stored = append(stored, got)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	if diff := cmp.Diff(all, stored); diff != "" {
		t.Errorf("Audit mismatch (-got +want):\n%s", diff)
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}

func testAuditIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := entry("o/r", 1, audit.ActionApply, "d1")
	e.Time = t0
	first := mustAppend(t, s, e)

	// A redelivery differs in time and outcome but has the same key.
	redelivered := e
	redelivered.Time, redelivered.Outcome = t0.Add(time.Hour), "other"
	got, ok, err := s.AppendAudit(ctx, redelivered)
	if err != nil || ok {
		t.Fatalf("AppendAudit(redelivered) = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(got, first); diff != "" {
		t.Errorf("AppendAudit(redelivered) mismatch (-got +want):\n%s", diff)
	}
	// A different action of the same delivery is a new entry.
	other := e
	other.Action = audit.ActionMerge
	second := mustAppend(t, s, other)
	if second.Seq != 2 || second.PrevHash != first.Hash {
		t.Errorf("second entry seq %d prev %q; want 2, %q", second.Seq, second.PrevHash, first.Hash)
	}
	if n := len(mustAudit(t, s, store.AuditFilter{})); n != 2 {
		t.Errorf("Audit has %d entries; want 2", n)
	}
}

func testAuditTime(t *testing.T, s store.Store) {
	// A zero time becomes the current time; other times are normalized to
	// UTC with microsecond precision.
	before := time.Now().UTC().Add(-time.Second)
	zero := mustAppend(t, s, entry("o/r", 1, audit.ActionPlan, "d1"))
	if zero.Time.Before(before) || zero.Time.After(time.Now().Add(time.Minute)) || zero.Time.Location() != time.UTC {
		t.Errorf("Time of an entry without one = %v; want the current UTC time", zero.Time)
	}
	e := entry("o/r", 1, audit.ActionPlan, "d2")
	e.Time = time.Date(2025, 3, 4, 7, 6, 7, 123456789, time.FixedZone("X", 2*3600))
	got := mustAppend(t, s, e)
	want := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	if !got.Time.Equal(want) || got.Time.Location() != time.UTC {
		t.Errorf("stored Time = %v; want %v", got.Time, want)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	if diff := cmp.Diff(all, []audit.Entry{zero, got}); diff != "" {
		t.Errorf("Audit mismatch (-got +want):\n%s", diff)
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}

func testAuditFilter(t *testing.T, s store.Store) {
	var all []audit.Entry
	for i, e := range []audit.Entry{
		entry("o/r", 1, audit.ActionPlan, "d1"),
		entry("o/r", 2, audit.ActionPlan, "d2"),
		entry("o/other", 1, audit.ActionPlan, "d3"),
		entry("o/r", 1, audit.ActionApply, "d4"),
	} {
		e.Time = t0.Add(time.Duration(i) * time.Hour)
		all = append(all, mustAppend(t, s, e))
	}
	seqs := func(es []audit.Entry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	tests := []struct {
		name   string
		filter store.AuditFilter
		want   []int64
	}{
		{name: "all", filter: store.AuditFilter{}, want: []int64{1, 2, 3, 4}},
		{name: "repo", filter: store.AuditFilter{Repo: "o/r"}, want: []int64{1, 2, 4}},
		{name: "repo and pr", filter: store.AuditFilter{Repo: "o/r", PR: 1}, want: []int64{1, 4}},
		{name: "since inclusive", filter: store.AuditFilter{Since: t0.Add(time.Hour)}, want: []int64{2, 3, 4}},
		{name: "since in another zone", filter: store.AuditFilter{Since: t0.Add(2*time.Hour + time.Second).In(time.FixedZone("Y", -5*3600))}, want: []int64{4}},
		{name: "repo and since", filter: store.AuditFilter{Repo: "o/r", Since: t0.Add(30 * time.Minute)}, want: []int64{2, 4}},
		{name: "no match", filter: store.AuditFilter{Repo: "o/none"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := seqs(mustAudit(t, s, tt.filter))
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Audit(%+v) seqs mismatch (-got +want):\n%s", tt.filter, diff)
			}
		})
	}
	if diff := cmp.Diff(mustAudit(t, s, store.AuditFilter{}), all); diff != "" {
		t.Errorf("Audit(all) mismatch (-got +want):\n%s", diff)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) { AppendConcurrently(t, s) }

// AppendConcurrently appends audit entries from several writers per store
// at once, each also racing to write one shared entry. The result must be
// one linear chain that verifies, with the shared entry stored once.
// Passing several stores open on one database checks this across
// connection pools, as between processes.
func AppendConcurrently(t *testing.T, stores ...store.Store) {
	ctx := t.Context()
	s := stores[0]
	const (
		writers = 12
		each    = 5
	)
	var wg sync.WaitGroup
	errs := make(chan error, writers*len(stores)*each*2)
	var mu sync.Mutex // mu guards inserted
	inserted := 0
	for w := range writers * len(stores) {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range each {
				// Every writer also races to write one shared entry, which
				// must be stored once.
				for _, e := range []audit.Entry{
					entry("o/r", w, audit.ActionPlan, fmt.Sprintf("w%d-%d", w, i)),
					entry("o/r", 99, audit.ActionApply, "shared"),
				} {
					_, ok, err := s.AppendAudit(ctx, e)
					if err != nil {
						errs <- err
						return
					}
					if ok {
						mu.Lock()
						inserted++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AppendAudit: %v", err)
	}
	all := mustAudit(t, s, store.AuditFilter{})
	want := writers*len(stores)*each + 1
	if len(all) != want || inserted != want {
		t.Fatalf("got %d entries, %d reported inserted; want %d", len(all), inserted, want)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d; want %d", i, e.Seq, i+1)
		}
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify(Audit()) failed at seq %d", bad)
	}
}
