package store

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/audit"
)

func TestMigrations(t *testing.T) {
	ms, err := Migrations(fstest.MapFS{
		"migrations/0002_b.sql":  {Data: []byte("B")},
		"migrations/0001_a.sql":  {Data: []byte("A")},
		"migrations/README.md":   {Data: []byte("not a migration")},
		"migrations/0010_c.sql":  {Data: []byte("C")},
		"other/0003_ignored.sql": {Data: []byte("X")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{1, "0001_a.sql", "A"}, {2, "0002_b.sql", "B"}, {10, "0010_c.sql", "C"}}
	if diff := cmp.Diff(ms, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"bad name":  {"migrations/init.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/01_b.sql": {}},
	} {
		if _, err := Migrations(fsys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseApprovers(t *testing.T) {
	if a, err := ParseApprovers(1, []byte("null")); err != nil || a == nil || len(a) != 0 {
		t.Errorf("null approvers = %v, %v; want empty, not nil", a, err)
	}
	if _, err := ParseApprovers(7, []byte("{")); err == nil || !strings.Contains(err.Error(), "entry 7") {
		t.Errorf("bad JSON: err = %v", err)
	}
}

func TestPrepareEntry(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 678912345, time.FixedZone("x", 3600))
	e := PrepareEntry(audit.Entry{}, now)
	if e.Approvers == nil || !e.Time.Equal(now.Truncate(time.Microsecond)) || e.Time.Location() != time.UTC {
		t.Errorf("PrepareEntry = %+v", e)
	}
	if !strings.HasSuffix(e.Time.Format(time.RFC3339Nano), "678912Z") {
		t.Errorf("time not truncated to microseconds: %s", e.Time.Format(time.RFC3339Nano))
	}
}
