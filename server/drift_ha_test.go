package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/drift/drifttest"
	"github.com/planbot/planbot/runner/terraform/statetest"
	"github.com/planbot/planbot/store/pgtest"
)

// loggingTerraform writes a terraform wrapper whose plans take sleep
// seconds longer and append "start PID DIR" and "end PID DIR" lines to the
// returned log, so a test can see which plans ran when.
func loggingTerraform(t *testing.T, sleep string) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "plans.log")
	bin = wrapTerraform(t, dir, func(real string) string {
		return "  echo \"start $PPID $PWD\" >> " + log + "\n  sleep " + sleep + "\n  " + real +
			" \"$@\"\n  rc=$?\n  echo \"end $PPID $PWD\" >> " + log + "\n  exit $rc\n"
	})
	return bin, log
}

// planLog returns the lines of the wrapper's log.
func planLog(log string) []string {
	b, _ := os.ReadFile(log)
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// TestDriftReplicasSharePostgres runs two planbot processes on one
// PostgreSQL database with a drift schedule firing every 2 seconds, faster
// than a pass runs: passes never overlap, the drifting project has one
// issue, and when the replica running a pass is killed the other takes
// the pass over.
func TestDriftReplicasSharePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	states := statetest.New(t)
	gh := drifttest.Fake(t, states)
	states.SetDataInput("live", "changed-in-the-console")
	tf, log := loggingTerraform(t, "1")

	// The wrapper writes its log outside the checkout, which the sandbox
	// would refuse.
	r := startReplicas(t, gh, dsn, tf, 2, "--drift-schedule=@every 2s", "--sandbox=off")
	st := openStore(t, dsn)
	defer st.Close()

	// Kill the replica in the middle of a pass.
	var victim string
	waitFor(t, 2*time.Minute, "a pass running its plan", func() bool {
		lines := planLog(log)
		p, err := st.LastPass(context.Background(), drift.PassName)
		if err != nil || !p.FinishedAt.IsZero() || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "start") {
			return false
		}
		victim = p.Owner
		return true
	})
	r.kill(t, victim)
	killedAt := len(planLog(log))
	waitFor(t, 2*time.Minute, "passes by the survivor", func() bool {
		p, err := st.LastPass(context.Background(), drift.PassName)
		return err == nil && p.Owner != victim && len(planLog(log)) >= killedAt+4
	})

	// Plans never overlap: every start is followed by its end, except the
	// plan of the killed replica (line killedAt-1), which has none.
	lines := planLog(log)
	running := -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "start") && running >= 0 && running != killedAt-1:
			t.Fatalf("line %d: a plan started while the one of line %d runs: passes overlap\n%s", i+1, running+1, strings.Join(lines, "\n"))
		case strings.HasPrefix(l, "start"):
			running = i
		default:
			running = -1
		}
	}
	issues := gh.Issues(drifttest.Repo)
	if len(issues) != 1 || issues[0].State != "open" || issues[0].Title != "Drift: acme/live live" {
		t.Errorf("issues = %+v, want one open drift issue", issues)
	}
}
