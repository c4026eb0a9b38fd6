package sqlite_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// childEnv names the database a re-executed test binary writes to.
const childEnv = "PLANBOT_SQLITE_TEST_CHILD_DB"

// TestChild is the body of the second process started by
// TestTwoProcesses; it does nothing in a normal run.
func TestChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	db := openAt(t, path)
	for i := range 40 {
		e := audit.Entry{Repo: "o/r", PR: 2, Action: audit.ActionPlan, DeliveryID: fmt.Sprintf("child-%d", i)}
		if _, _, err := db.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("child AppendAudit: %v", err)
		}
		if _, err := db.Audit(t.Context(), store.AuditFilter{}); err != nil {
			t.Fatalf("child Audit: %v", err)
		}
	}
}

// TestTwoProcesses appends to one audit chain from this process and from a
// second one at the same time: the chain stays linear and verifies.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "planbot.db")
	db := openAt(t, path)

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var wg sync.WaitGroup
	var out []byte
	var childErr error
	wg.Go(func() { out, childErr = cmd.CombinedOutput() })
	for i := range 40 {
		e := audit.Entry{Repo: "o/r", PR: 1, Action: audit.ActionPlan, DeliveryID: fmt.Sprintf("parent-%d", i)}
		if _, _, err := db.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	wg.Wait()
	if childErr != nil {
		t.Fatalf("child process: %v\n%s", childErr, out)
	}
	all, err := db.Audit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if len(all) != 80 {
		t.Fatalf("Audit has %d entries; want 80", len(all))
	}
	if bad, ok := audit.Verify(all); !ok {
		t.Errorf("Verify failed at seq %d", bad)
	}
}
