package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/pgtest"
)

// postDelivery sends a payload signed like GitHub with a chosen delivery
// ID, so that the same delivery can reach several replicas.
func postDelivery(t *testing.T, url, event, id string, payload []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", githubfake.Sign([]byte(testSecret), payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReplicasSharePostgres runs two planbot processes on one PostgreSQL
// database. They receive the same and different deliveries at once; each
// PR head is planned once with one comment, the audit chain verifies, and
// when the replica running a job is killed the other finishes it.
func TestReplicasSharePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	gh := newFake(t)
	r := startReplicas(t, gh, dsn, slowTerraform(t), 2)

	// Two PRs; the first gets one delivery sent to both replicas at once,
	// the second two different deliveries for the same head, one each.
	sha1 := gh.Commit(testRepo, "ha-dev", devChange("dev-ha"), nil, "dev")
	pr1 := gh.OpenPR(testRepo, "ha-dev", "main", "carol", "HA dev")
	sha2 := gh.Commit(testRepo, "ha-prod", prodChange("prod-ha"), nil, "prod")
	pr2 := gh.OpenPR(testRepo, "ha-prod", "main", "carol", "HA prod")
	opened1 := gh.PullRequestEvent("opened", testRepo, pr1.Number)
	r.deliverAtOnce(t, []haDelivery{
		{0, "ha-same", opened1},
		{1, "ha-same", opened1},
		{0, "ha-pr2-opened", gh.PullRequestEvent("opened", testRepo, pr2.Number)},
		{1, "ha-pr2-ready", gh.PullRequestEvent("ready_for_review", testRepo, pr2.Number)},
	})
	for _, sha := range []string{sha1, sha2} {
		if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
			t.Fatalf("planbot/plan on %s = %s", sha[:7], got)
		}
	}

	st := openStore(t, dsn)
	defer st.Close()
	for _, pr := range []githubfake.PR{pr1, pr2} {
		checkPlannedOnce(t, gh, st, pr.Number)
	}

	// The first PR is closed so that its lock on envs/dev is free for the
	// next one.
	gh.ClosePR(testRepo, pr1.Number)
	if code := postDelivery(t, r.url(1), "pull_request", "ha-close", gh.PullRequestEvent("closed", testRepo, pr1.Number)); code != http.StatusAccepted {
		t.Fatalf("close delivery: status %d", code)
	}
	waitJobOf(t, st, "ha-close", time.Minute, "close processed", func(j *store.Job) bool { return j.State == "done" })
	r.killMidJob(t, gh, st)

	all, err := st.Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := audit.Verify(all); !ok {
		t.Errorf("audit chain broken at seq %d", seq)
	}
}

// replicas are planbot processes sharing one database, each listening on
// its own address.
type replicas struct {
	addrs []string
	kills map[int]func() // by process ID
}

// startReplicas starts n planbot processes on the database dsn that run
// the terraform binary tf, with the extra flags.
func startReplicas(t *testing.T, gh *githubfake.Server, dsn, tf string, n int, extra ...string) *replicas {
	bin := buildPlanbot(t)
	r := &replicas{kills: map[int]func(){}}
	for range n {
		addr := githubfake.FreeAddr(t)
		r.addrs = append(r.addrs, addr)
		args := serverArgs(t, gh, t.TempDir(), append([]string{"--database=" + dsn, "--terraform-bin=" + tf, "--addr=" + addr}, extra...)...)
		cmd := startProcess(t, bin, args)
		r.kills[cmd.Process.Pid] = func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }
	}
	return r
}

// kill kills the replica that owner, a queue or pass lease owner, names.
func (r *replicas) kill(t *testing.T, owner string) {
	t.Helper()
	kill, ok := r.kills[ownerPID(t, owner)]
	if !ok {
		t.Fatalf("lease owner %q is not one of the replicas", owner)
	}
	kill()
}

// url returns the webhook URL of replica i.
func (r *replicas) url(i int) string { return "http://" + r.addrs[i] + "/webhook" }

// haDelivery is a pull_request delivery to one replica.
type haDelivery struct {
	replica int
	id      string
	payload []byte
}

// deliverAtOnce sends the deliveries concurrently and checks that each is
// accepted.
func (r *replicas) deliverAtOnce(t *testing.T, ds []haDelivery) {
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() {
			if code := postDelivery(t, r.url(d.replica), "pull_request", d.id, d.payload); code != http.StatusAccepted && code != http.StatusOK {
				t.Errorf("delivery %s to replica %d: status %d", d.id, d.replica, code)
			}
		})
	}
	wg.Wait()
}

// checkPlannedOnce checks that PR pr got one comment and one plan in the
// audit log.
func checkPlannedOnce(t *testing.T, gh *githubfake.Server, st store.Store, pr int) {
	t.Helper()
	creates := 0
	for _, w := range gh.CommentHistory(testRepo, pr) {
		if w.Op == "create" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("PR #%d got %d comments, want 1", pr, creates)
	}
	entries, err := st.Audit(context.Background(), store.AuditFilter{Repo: testRepo, PR: pr})
	if err != nil {
		t.Fatal(err)
	}
	plans := 0
	for _, e := range entries {
		if e.Action == audit.ActionPlan {
			plans++
		}
	}
	if plans != 1 {
		t.Errorf("PR #%d was planned %d times, want once", pr, plans)
	}
}

// killMidJob opens a PR, kills the replica that runs its plan job while
// terraform plans, and checks that another replica finishes the job.
func (r *replicas) killMidJob(t *testing.T, gh *githubfake.Server, st store.Store) {
	sha := gh.Commit(testRepo, "ha-kill", devChange("dev-kill"), nil, "dev again")
	pr := gh.OpenPR(testRepo, "ha-kill", "main", "carol", "HA kill")
	if code := postDelivery(t, r.url(0), "pull_request", "ha-kill", gh.PullRequestEvent("opened", testRepo, pr.Number)); code != http.StatusAccepted {
		t.Fatalf("delivery: status %d", code)
	}
	owner := waitJobOf(t, st, "ha-kill", 30*time.Second, "job claimed", func(j *store.Job) bool { return j.State == "running" }).Owner
	r.kill(t, owner)
	if state, _ := status(gh, sha, "planbot/plan"); state == "success" {
		t.Fatal("the plan finished before the kill; the test proves nothing")
	}
	if got := waitStatus(t, gh, sha, "planbot/plan"); got != "success" {
		t.Fatalf("planbot/plan after the kill = %s, want success", got)
	}
	// The status is the job's last step; the job is marked done just after.
	j := waitJobOf(t, st, "ha-kill", 30*time.Second, "job done", func(j *store.Job) bool { return j.State == "done" })
	if j.Owner == owner {
		t.Errorf("job after the kill was finished by the killed replica %s; want the other replica", owner)
	}
}

// ownerPID returns the process ID in a queue lease owner
// ("host/pid/nonce").
func ownerPID(t *testing.T, owner string) int {
	t.Helper()
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		t.Fatalf("unexpected lease owner %q", owner)
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("unexpected lease owner %q", owner)
	}
	return pid
}

// TestApplyOnAnotherReplica plans on one replica and applies on another
// that has never seen the PR: the saved plan comes from the database.
func TestApplyOnAnotherReplica(t *testing.T) {
	dsn := pgtest.Start(t)
	gh := newFake(t)
	aDir := t.TempDir()
	a := startServer(t, gh, aDir, "--database="+dsn)
	pr := a.openPlanned("elsewhere", "carol", devChange("dev-elsewhere"), "success")
	a.stop()
	// The first replica's machine is gone, and its workspaces with it.
	if err := os.RemoveAll(aDir); err != nil {
		t.Fatal(err)
	}

	b := startServer(t, gh, t.TempDir(), "--database="+dsn)
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	reply := b.command(pr.Number, "bob", "/apply")
	if !strings.Contains(reply, "applied `envs/dev`") || !strings.Contains(reply, "merged") {
		t.Fatalf("apply on the second replica:\n%s", reply)
	}
	if !strings.Contains(b.logs.String(), "restored the saved plan") {
		t.Error("the second replica did not restore the plan from the database")
	}
}
