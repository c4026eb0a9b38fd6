package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
)

// TestAuditPage checks the filters, the pages and the export of the
// audit page, and that entries of repositories the user cannot read
// never show.
func TestAuditPage(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []audit.Entry // bob's, on acme/infra, in March
	for i := range 70 {
		en := audit.Entry{Repo: testRepo, PR: 1 + i%3, Project: "envs/dev", Action: audit.ActionPlan, Actor: "alice", Outcome: "planned",
			DeliveryID: "d" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Time: day.AddDate(0, 0, i-40)}
		if i%2 == 0 {
			en.Actor, en.Action = "bob", audit.ActionApply
		}
		if i%7 == 0 {
			en.Repo = "acme/hidden"
		}
		stored, _, err := e.st.AppendAudit(ctx, en)
		if err != nil {
			t.Fatal(err)
		}
		if en.Actor == "bob" && en.Repo == testRepo && stored.Time.Month() == time.March {
			want = append(want, stored)
		}
	}
	c := e.login("rita") // reads acme/infra, not acme/hidden
	page := e.body(c, "/audit", http.StatusOK)
	if strings.Contains(page, "acme/hidden") {
		t.Error("the audit page shows a repository rita cannot read")
	}
	if !strings.Contains(page, "The chain of 70 entries verifies.") || !strings.Contains(page, "page 1 of 2") || !strings.Contains(page, "Older") {
		t.Errorf("first page: want the badge over all 70 entries and page 1 of 2:\n%s", page)
	}
	if n := strings.Count(page, `<td class="actor">`); n != auditPageSize {
		t.Errorf("first page shows %d entries, want %d", n, auditPageSize)
	}
	q := url.Values{"actor": {"@bob"}, "action": {"apply"}, "since": {"2026-03-01"}, "until": {"2026-03-31"}, "project": {"ENVS/DEV"}}
	page = e.body(c, "/audit?"+q.Encode(), http.StatusOK)
	if n := strings.Count(page, `<td class="actor">bob</td>`); n != len(want) || strings.Contains(page, `<td class="actor">alice</td>`) {
		t.Errorf("filtered page shows %d of bob's entries (want %d) or alice's:\n%s", n, len(want), page)
	}
	var exp bytes.Buffer
	if err := audit.WriteJSON(&exp, want); err != nil {
		t.Fatal(err)
	}
	if got := e.body(c, "/audit/export?"+q.Encode(), http.StatusOK); got != exp.String() {
		t.Errorf("export of the view:\n%s\nwant:\n%s", got, exp.String())
	}
	// The whole log, for someone who cannot read acme/hidden, is not the
	// whole chain, and the page says so.
	if !strings.Contains(page, "only for someone who can read every repository") {
		t.Errorf("the page does not say the export lacks entries")
	}
	all := e.body(e.login("alice"), "/audit/export", http.StatusOK)
	entries, err := audit.ReadJSON(strings.NewReader(all))
	if err != nil || len(entries) != 70 {
		t.Fatalf("alice's whole export: %d entries, %v; want 70", len(entries), err)
	}
	if _, ok := audit.Verify(entries); !ok {
		t.Error("alice's whole export does not verify")
	}
}
