// Package audittest checks the audit log as planbot exports it, for the
// tests of the packages that write it.
package audittest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// EntryKeys are the fields of an exported audit entry, sorted: part of
// planbot's interface, which `planbot audit --json` prints.
var EntryKeys = []string{"action", "actor", "approvers", "base_sha", "delivery_id", "detail", "hash", "head_sha",
	"outcome", "plan_sha256", "pr", "prev_hash", "project", "repo", "seq", "time"}

// JSONLines checks that out is n lines, each a JSON object with exactly
// EntryKeys whose approvers are an array (never null), and returns the
// objects. It stops t at a wrong line count or a line that is not JSON.
func JSONLines(t *testing.T, out string, n int) []map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), n, out)
	}
	objects := make([]map[string]any, len(lines))
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if diff := cmp.Diff(keys, EntryKeys); diff != "" {
			t.Errorf("line %d keys (-got +want):\n%s", i+1, diff)
		}
		if _, ok := m["approvers"].([]any); !ok {
			t.Errorf("line %d: approvers = %#v, want a JSON array", i+1, m["approvers"])
		}
		objects[i] = m
	}
	return objects
}
