package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/logtest"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite"
	"github.com/planbot/planbot/store/storetest"
)

// backend gives the conformance suite new database files, addressed by
// path.
var backend = storetest.Backend{
	New: func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "planbot.db") },
	Open: func(ctx context.Context, path string, logger *slog.Logger) (store.Store, error) {
		return sqlite.Open(ctx, path, logger)
	},
	Exec: func(t *testing.T, path string, queries ...string) {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range queries {
			if _, err := raw.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
	},
}

func TestStore(t *testing.T) { storetest.Run(t, backend.Fresh) }

func TestReopen(t *testing.T) { backend.RunReopen(t) }

func TestOpenCreatesParentDirs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "planbot.db")
	db := backend.OpenAt(t, path).(*sqlite.DB)
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q; want %q", got, path)
	}
	if _, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command("sqlite3", path, "PRAGMA journal_mode").CombinedOutput()
		if err != nil || string(out) != "wal\n" {
			t.Errorf("journal_mode = %q, %v; want wal", out, err)
		}
	}
}

// TestConcurrentOpen opens one new database from many goroutines at once,
// each with its own connection pools as separate processes would: the
// migrations are applied exactly once and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "planbot.db")
	var wg sync.WaitGroup
	dbs := make([]*sqlite.DB, 8)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() {
			dbs[i], errs[i] = sqlite.Open(t.Context(), path, logtest.New(t))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	// Every handle sees the others' writes.
	for i, db := range dbs {
		if ok, err := db.EnqueueDelivery(t.Context(), store.Job{DeliveryID: fmt.Sprint(i), Event: "e", Payload: []byte(`{}`)}); err != nil || !ok {
			t.Fatalf("EnqueueDelivery on handle %d = %v, %v", i, ok, err)
		}
	}
	for i := range dbs {
		if _, err := dbs[0].Job(t.Context(), fmt.Sprint(i)); err != nil {
			t.Errorf("Job(%d) on handle 0: %v", i, err)
		}
	}
}

// childEnv names the database a re-executed test binary writes to.
const childEnv = "PLANBOT_SQLITE_TEST_CHILD_DB"

// TestChild is the body of the second process started by
// TestTwoProcesses; it does nothing in a normal run.
func TestChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		return
	}
	db := backend.OpenAt(t, path)
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
	db := backend.OpenAt(t, path)

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

func BenchmarkEnqueueDelivery(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "planbot.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	payload := make([]byte, 8<<10)
	i := 0
	for b.Loop() {
		i++
		if _, err := db.EnqueueDelivery(b.Context(), store.Job{
			DeliveryID: fmt.Sprintf("delivery-%d", i), Event: "pull_request", Payload: payload, Key: "o/r#1",
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClaimAcrossHandles(t *testing.T) {
	storetest.ClaimConcurrently(t, backend.Handles(t, 3)...)
}

func TestAppendAcrossHandles(t *testing.T) {
	storetest.AppendConcurrently(t, backend.Handles(t, 3)...)
}

// TestMigrations runs the suite's migration tests: PlanData, RunAfter
// and JobFinishedAt.
func TestMigrations(t *testing.T) { backend.RunMigrations(t) }

func BenchmarkStore(b *testing.B) { backend.Bench(b) }
