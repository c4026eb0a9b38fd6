package server

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
)

// buildPlanbot compiles cmd/planbot into a temporary directory.
func buildPlanbot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "planbot")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/planbot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// slowTerraform writes a terraform wrapper whose plans take a while, so a
// test can kill planbot in the middle of one.
func slowTerraform(t *testing.T) string {
	t.Helper()
	return wrapTerraform(t, t.TempDir(), func(string) string { return "  sleep 2\n" })
}

// wrapTerraform writes dir/terraform, a wrapper of the terraform on PATH:
// a plan runs the shell lines onPlan returns, given the real binary's path;
// anything else runs the real binary. It returns the wrapper's path.
func wrapTerraform(t *testing.T, dir string, onPlan func(real string) string) string {
	t.Helper()
	real, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform is not on PATH")
	}
	path := filepath.Join(dir, "terraform")
	script := "#!/bin/sh\nif [ \"$1\" = plan ]; then\n" + onPlan(real) + "fi\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProcess runs `planbot server` as a subprocess and waits until it is
// healthy.
func startProcess(t *testing.T, bin string, args []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var addr string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--addr="); ok {
			addr = v
		}
	}
	waitFor(t, 30*time.Second, "planbot process healthy", func() bool { return healthy(addr) })
	return cmd
}

// slowRun is a planbot subprocess in the middle of a slow plan.
type slowRun struct {
	bin      string
	args     []string
	proc     *exec.Cmd
	gh       *githubfake.Server
	sha      string
	pr       githubfake.PR
	delivery string
	st       store.Store
}

// runningPlan starts planbot as a subprocess whose plans are slow, opens a
// PR and returns once planbot has claimed the PR's plan job.
func runningPlan(t *testing.T, branch string) slowRun {
	t.Helper()
	bin := buildPlanbot(t)
	gh := newFake(t)
	dataDir := t.TempDir()
	addr := githubfake.FreeAddr(t)
	args := serverArgs(t, gh, dataDir, "--terraform-bin="+slowTerraform(t), "--addr="+addr) // the last --addr wins
	proc := startProcess(t, bin, args)

	sha := gh.Commit(testRepo, branch, devChange("dev-"+branch), nil, "change dev")
	pr := gh.OpenPR(testRepo, branch, "main", "carol", "Test "+branch)
	e := &testEnv{t: t, gh: gh, url: "http://" + addr + "/webhook", dataDir: dataDir}
	delivery := e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted)

	st := e.openDB()
	t.Cleanup(func() { st.Close() })
	waitJobOf(t, st, delivery, 30*time.Second, "job claimed", func(j *store.Job) bool { return j.State == "running" })
	return slowRun{bin: bin, args: args, proc: proc, gh: gh, sha: sha, pr: pr, delivery: delivery, st: st}
}

// TestCrashAfterAck kills planbot with SIGKILL after it acknowledged a
// delivery and while the plan runs; after a restart the plan is posted.
func TestCrashAfterAck(t *testing.T) {
	r := runningPlan(t, "crash")
	gh, sha := r.gh, r.sha
	if err := r.proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.proc.Wait()
	if state, _ := status(gh, sha, "planbot/plan"); state == "success" {
		t.Fatal("the plan finished before the kill; the test proves nothing")
	}

	startProcess(t, r.bin, r.args)
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan after restart = %s, want success", got)
	}
	c := planComment(t, gh, r.pr.Number)
	mustContain(t, c.Body, "envs/dev", "1 to add", sha[:7])
}

// TestGracefulShutdownDrains stops planbot with SIGTERM while a plan runs:
// the plan finishes before the process exits.
func TestGracefulShutdownDrains(t *testing.T) {
	r := runningPlan(t, "drain")
	if err := r.proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.proc.Wait(); err != nil {
		t.Fatalf("planbot exited with %v after SIGTERM", err)
	}
	if state, _ := status(r.gh, r.sha, "planbot/plan"); state != "success" {
		t.Fatalf("planbot/plan after drain = %q, want success", state)
	}
	j, err := r.st.Job(context.Background(), r.delivery)
	if err != nil || j.State != "done" {
		t.Fatalf("job after drain = %+v, %v; want done", j, err)
	}
}

// TestCrashDuringApplyIsNotReplayed kills planbot with SIGKILL while
// terraform applies, after the apply's intent is in the audit log and
// before its outcome is. After a restart the job is claimed again: it
// runs terraform apply zero more times, replies that the earlier apply
// was interrupted and audits apply_interrupted. A new /plan and /apply
// then apply normally.
func TestCrashDuringApplyIsNotReplayed(t *testing.T) {
	bin := buildPlanbot(t)
	gh := newFake(t)
	dataDir := t.TempDir()
	addr := githubfake.FreeAddr(t)
	args := serverArgs(t, gh, dataDir, "--addr="+addr) // the last --addr wins
	proc := startProcess(t, bin, args)
	e := &testEnv{t: t, gh: gh, url: "http://" + addr + "/webhook", dataDir: dataDir}

	pr := e.openPlanned("replay", "carol", markedRoot("envs/replay", "replay", true), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	c := gh.AddComment(testRepo, pr.Number, "bob", "/apply")
	delivery := e.deliver("issue_comment", gh.IssueCommentEvent(testRepo, pr.Number, c), http.StatusAccepted)
	var markers []string
	waitFor(t, 3*time.Minute, "terraform apply to start", func() bool {
		var n int
		markers, n = applyMarkers(t, dataDir)
		return n == 1
	})
	// terraform apply now waits for the release file: the intent is
	// written and the outcome cannot be yet.
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	// Let the provisioner left behind finish. A second apply would not
	// block either, so a wrong implementation shows as a count of 2.
	if err := os.WriteFile(filepath.Join(filepath.Dir(markers[0]), "release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before := outcomes(prAudit(t, dataDir, pr.Number))
	if want := "apply_requested started"; before[len(before)-1] != want {
		t.Fatalf("audit at the kill = %q, want it to end with %q", before, want)
	}

	startProcess(t, bin, args)
	var reply string
	waitFor(t, 3*time.Minute, "a reply to /apply after the restart", func() bool {
		for _, bc := range botComments(gh, pr.Number) {
			if strings.HasPrefix(bc.Body, "@bob") {
				reply = bc.Body
				return true
			}
		}
		return false
	})
	mustContain(t, reply, "earlier apply was interrupted", "envs/replay", "outcome is unknown", "Check the state", "`/plan`", "`/apply`")
	if _, n := applyMarkers(t, dataDir); n != 1 {
		t.Errorf("terraform apply ran %d times in all, want 1: the re-claimed job applied again", n)
	}
	if st, _ := status(gh, pr.HeadSHA, "planbot/apply"); st != "failure" {
		t.Errorf("planbot/apply = %q, want failure", st)
	}
	if gh.PR(testRepo, pr.Number).Merged {
		t.Error("the PR was merged after an interrupted apply")
	}
	entries := prAudit(t, dataDir, pr.Number)
	last := entries[len(entries)-1]
	if last.Action != audit.ActionApplyInterrupted || last.Outcome != "unknown" || last.Project != "envs/replay" || last.DeliveryID != delivery {
		t.Errorf("last audit entry = %s %s %s %s, want apply_interrupted unknown envs/replay %s", last.Action, last.Outcome, last.Project, last.DeliveryID, delivery)
	}
	for _, en := range entries {
		if en.Action == audit.ActionApply || en.Action == audit.ActionMerge {
			t.Errorf("audit has %s %s after the crash", en.Action, en.Outcome)
		}
	}

	// The saved plan predates the interrupted apply: it is not applied.
	wantRefused(t, e.command(pr.Number, "bob", "/apply"), "interrupted", "/plan")
	if _, n := applyMarkers(t, dataDir); n != 1 {
		t.Errorf("terraform apply ran %d times in all, want 1", n)
	}
	// A new plan and a new /apply go ahead.
	e.command(pr.Number, "bob", "/plan")
	if reply := e.command(pr.Number, "bob", "/apply"); !strings.Contains(reply, "merged") {
		t.Fatalf("/apply after /plan:\n%s", reply)
	}
	if _, n := applyMarkers(t, dataDir); n != 2 {
		t.Errorf("terraform apply ran %d times in all, want 2", n)
	}
}
