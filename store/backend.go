package store

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot/audit"
)

// Migration is one numbered schema change of a backend.
type Migration struct {
	Version int
	Name    string // file name, such as "0001_init.sql"
	SQL     string
}

// Migrations reads the files matching "migrations/*.sql" of fsys, named
// NNNN_name.sql, in version order. Both backends apply them the same way:
// in one transaction, skipping the versions recorded in schema_migrations.
func Migrations(fsys fs.FS) ([]Migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []Migration
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// PrepareEntry normalizes an audit entry before it is appended: no nil
// approvers, and a UTC time with the microsecond precision both backends
// store (now when it is unset), so that the hash computed on append matches
// the one recomputed from a read.
func PrepareEntry(e audit.Entry, now time.Time) audit.Entry {
	if e.Approvers == nil {
		e.Approvers = []audit.Approver{}
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return e
}

// ParseApprovers decodes the approvers of the audit entry seq as a backend
// stores them (JSON), never returning nil.
func ParseApprovers(seq int64, data []byte) ([]audit.Approver, error) {
	var a []audit.Approver
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("entry %d: approvers: %w", seq, err)
	}
	if a == nil {
		a = []audit.Approver{}
	}
	return a, nil
}
