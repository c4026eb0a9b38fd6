package audit

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/audit/audittest"
	"github.com/planbot/planbot/golden"

	"github.com/google/go-cmp/cmp"
)

// chain links entries as the store does: seq from 1, each PrevHash the hash
// of the entry before.
func chain(entries ...Entry) []Entry {
	prev := ""
	out := make([]Entry, len(entries))
	for i, e := range entries {
		e.Seq = int64(i + 1)
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		out[i] = e
	}
	return out
}

func sampleEntries() []Entry {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC)
	return chain(
		Entry{
			Time: t0, Repo: "acme/infra", PR: 12, HeadSHA: "0123456789abcdef0123456789abcdef01234567",
			BaseSHA: "fedcba9876543210fedcba9876543210fedcba98", Project: "envs/prod", Action: ActionPlan,
			Actor: "alice", Outcome: "planned", Detail: "1 to add, 0 to change, 0 to destroy",
			PlanSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", DeliveryID: "d-1",
		},
		Entry{
			// A time in another zone is shown in UTC.
			Time: t0.Add(time.Hour).In(time.FixedZone("CEST", 2*3600)), Repo: "acme/infra", PR: 12,
			HeadSHA: "0123456789abcdef0123456789abcdef01234567", Project: "envs/prod", Action: ActionApply,
			Actor: "bob", Outcome: "applied",
			Approvers:  []Approver{{Login: "carol", Rule: "/envs/prod/ @acme/sre"}, {Login: "dave", Rule: "* @dave"}},
			Detail:     "Apply complete!\tResources: 1 added,\n0 changed, 0 destroyed. \x1b[31mred\x1b[0m and a long tail that does not fit in the column at all",
			PlanSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", DeliveryID: "d-2",
		},
		Entry{
			Time: t0.Add(2 * time.Hour), Repo: "acme/apps", PR: 7, HeadSHA: "abc", Project: "",
			Action: ActionUnlock, Actor: "erin", Outcome: "released", Approvers: []Approver{{Login: "frank"}},
		},
	)
}

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		golden  string
	}{
		{name: "entries", entries: sampleEntries(), golden: "table.golden"},
		{name: "empty", entries: nil, golden: "table_empty.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, tt.entries); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", tt.golden), buf.String())
			if bytes.ContainsAny(buf.Bytes(), "\t\x1b\r") {
				t.Errorf("table contains control characters:\n%q", buf.String())
			}
			if got, want := strings.Count(buf.String(), "\n"), len(tt.entries)+1; got != want {
				t.Errorf("table has %d lines, want %d (one per entry and a header)", got, want)
			}
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Check(t, path, got)
}

func TestWriteJSONFields(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleEntries()); err != nil {
		t.Fatal(err)
	}
	objects := audittest.JSONLines(t, buf.String(), 3)
	// The second entry's time was in CEST; the export is in UTC.
	if diff := cmp.Diff(objects[1]["time"], "2024-05-01T11:00:00.123456Z"); diff != "" {
		t.Errorf("time (-got +want):\n%s", diff)
	}
}

func TestWriteJSONNoApprovers(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []Entry{{Seq: 1, Approvers: nil}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"approvers":[]`) {
		t.Errorf("nil approvers not written as []: %s", buf.String())
	}
}

func TestReadJSONRoundTrip(t *testing.T) {
	entries := sampleEntries()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, entries); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := Verify(got); !ok {
		t.Fatalf("Verify of a round-tripped chain failed at seq %d", seq)
	}
	want := entries
	for i := range want {
		want[i].Time = want[i].Time.UTC()
		if want[i].Approvers == nil {
			want[i].Approvers = []Approver{}
		}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("round trip (-got +want):\n%s", diff)
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "unknown field", in: `{"seq":1,"extra":true}`, want: `entry 1 of the file: json: unknown field "extra"`},
		{name: "malformed second line", in: "{\"seq\":1}\n{\"seq\":", want: "entry 2 of the file"},
		{name: "wrong type", in: `{"seq":"one"}`, want: "entry 1 of the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadJSON error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadJSONEmpty(t *testing.T) {
	got, err := ReadJSON(strings.NewReader("\n"))
	if err != nil || len(got) != 0 {
		t.Errorf("ReadJSON(blank) = %v, %v; want no entries, no error", got, err)
	}
}
