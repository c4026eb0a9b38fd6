package terraform

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCancelKillsProcessGroup(t *testing.T) {
	// Each subcommand is run differently: fmt by planbot itself, init and
	// plan through tfexec.
	for _, hang := range []string{"fmt", "init", "plan"} {
		t.Run(hang, func(t *testing.T) {
			bin, _, pidFile := fakeTerraform(t, hang)
			r := &Runner{Bin: bin, KillGrace: 100 * time.Millisecond, Logger: testLogger(t)}
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"main.tf": dataA})

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct{ err error }
			done := make(chan result, 1)
			go func() {
				_, err := r.Plan(ctx, dir, "")
				done <- result{err}
			}()

			pids := waitForPIDs(t, pidFile, done)
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("process %d not running before cancel", pid)
				}
			}
			cancel()
			res := <-done
			if !errors.Is(res.err, context.Canceled) {
				t.Errorf("Plan error = %v, want context.Canceled", res.err)
			}
			for _, pid := range pids {
				waitDead(t, pid)
			}
		})
	}
}

// waitForPIDs waits until the fake terraform has written its PIDs.
func waitForPIDs[T any](t *testing.T, pidFile string, done <-chan T) []int {
	t.Helper()
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			var pids []int
			for _, f := range strings.Fields(string(b)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("pid file: %v", err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		select {
		case r := <-done:
			t.Fatalf("Plan returned before the fake terraform hung: %+v", r)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// waitDead waits for pid to exit; the kill is asynchronous. It fails the
// test if the process is still running after a generous deadline, which
// is far beyond the sleep's natural end being irrelevant (300s).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Errorf("process %d still running after the context was cancelled", pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
