package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/treetest"
)

// benchLog names a file for the server log of BenchmarkPlanEndToEnd.
var benchLog = flag.String("benchlog", "", "write the debug log of the server of BenchmarkPlanEndToEnd to this file")

// benchChecks is the --checks of the benchmarks' servers, to measure what
// check runs cost.
var benchChecks = flag.String("bench-checks", "on", "--checks of the benchmarks' servers: on or off")

// The most GitHub requests a re-plan and an /apply through merge of the
// benchmarks may make (the goals of docs/performance.md); the benchmarks
// fail above them.
const (
	maxPlanCalls  = 4
	maxPlanGit    = 3
	maxApplyCalls = 9
)

// checkRunCalls is what check runs add to a one-project plan or /apply:
// one create, with --checks=on.
func checkRunCalls() int {
	if *benchChecks == "off" {
		return 0
	}
	return 1
}

// BenchmarkPlanEndToEnd measures the latency a pull request's author sees:
// from the moment GitHub delivers a synchronize webhook for a new head to
// the moment planbot/plan on that head is success, with the plan comment
// edited. Every push changes envs/dev to a new value, so every plan is a
// real one. The first plan of the PR (cache clone, comment creation) runs
// before the timer starts and is reported as cold-ns.
func BenchmarkPlanEndToEnd(b *testing.B) {
	gh := githubfake.New(b)
	gh.CreateRepo(testRepo, infraFiles())
	gh.AddInstallation(1, testRepo)
	gh.SetCollaborator(testRepo, "carol", "write")
	url := benchServer(b, gh)
	ctx := b.Context()

	push := func(i int) string {
		return gh.Commit(testRepo, "bench", map[string]string{"envs/dev/main.tf": rootTF(fmt.Sprintf("dev-%d", i))}, nil, fmt.Sprintf("push %d", i))
	}
	sha := push(0)
	pr := gh.OpenPR(testRepo, "bench", "main", "carol", "Benchmark")
	start := time.Now()
	benchDeliver(b, gh, url, gh.PullRequestEvent("opened", testRepo, pr.Number))
	benchWaitPlan(ctx, b, gh, pr.Number, sha)
	cold := time.Since(start)

	var r pairs
	first := len(gh.Requests())
	last := first
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		r.raw = append(r.raw, rawInitPlan(b, fmt.Sprintf("dev-%d", i)))
		sha = push(i)
		last = len(gh.Requests())
		b.StartTimer()
		start := time.Now()
		benchDeliver(b, gh, url, gh.PullRequestEvent("synchronize", testRepo, pr.Number))
		benchWaitPlan(ctx, b, gh, pr.Number, sha)
		r.planbot = append(r.planbot, time.Since(start))
	}
	r.report(b)
	b.ReportMetric(float64(cold.Nanoseconds()), "cold-ns")
	planCalls(b, gh.Requests(), first, last, i, "re-plans")
}

// planCalls reports the REST calls and git requests of plans, those of
// reqs from first on, i of them, fails the benchmark above a plan's limits,
// and with -benchlog logs the requests of the last plan, from last on.
func planCalls(b *testing.B, reqs []githubfake.Request, first, last, i int, what string) {
	b.Helper()
	if i > 0 {
		api, git := countRequests(reqs[first:])
		b.ReportMetric(float64(len(reqs)-first)/float64(i), "github-requests/op")
		b.ReportMetric(float64(api)/float64(i), "api-calls/op")
		b.ReportMetric(float64(git)/float64(i), "git-requests/op")
		if limit := maxPlanCalls + checkRunCalls(); api > limit*i || git > maxPlanGit*i {
			b.Errorf("%d REST calls and %d git requests in %d of %s; the most one may make is %d and %d (TestGitHubCalls lists them)", api, git, i, what, limit, maxPlanGit)
		}
	}
	if *benchLog != "" {
		for _, r := range reqs[last:] {
			b.Logf("GitHub request of the last of %s: %s %s", what, r.Method, r.Path)
		}
	}
}

// BenchmarkFreshPR measures what a pull request's author sees on a new
// pull request, as the issue of the speed goals measured it: from the
// moment GitHub delivers the opened webhook to the moment the plan
// comment is on the pull request. Each iteration opens a new pull request
// that adds a root of its own (a copy of envs/dev, so that no pull
// request waits for another's lock), on a server that planned one before
// (the repository cache exists, as it does after the first pull request
// of a repository). status-ns is the time until planbot/plan is success.
// No push webhook is delivered: the plan fetches the branch itself
// (BenchmarkFreshPRAfterPush delivers it).
func BenchmarkFreshPR(b *testing.B) { freshPR(b, false) }

// BenchmarkFreshPRAfterPush is BenchmarkFreshPR as GitHub delivers the
// webhooks: the push that creates the branch comes first (its job runs
// before the timer starts, as it does while the author opens the pull
// request), and the plan finds the branch's commits fetched.
func BenchmarkFreshPRAfterPush(b *testing.B) { freshPR(b, true) }

// freshPR runs BenchmarkFreshPR, with the push webhook of each branch
// delivered first when push is set.
func freshPR(b *testing.B, push bool) {
	gh := githubfake.New(b)
	gh.CreateRepo(testRepo, infraFiles())
	gh.AddInstallation(1, testRepo)
	gh.SetCollaborator(testRepo, "carol", "write")
	m, url := benchServerMain(b, gh)
	ctx := b.Context()

	open := func(i int) (githubfake.PR, string) {
		branch := fmt.Sprintf("fresh-%d", i)
		sha := gh.Commit(testRepo, branch, map[string]string{"envs/" + branch + "/main.tf": rootTF(branch)}, nil, "add "+branch)
		if push {
			resp, id, err := gh.Deliver(ctx, url, testSecret, "push", gh.PushEvent(testRepo, branch, "", "carol"))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			benchPoll(ctx, b, "the push's job", func() bool {
				j, err := m.store.Job(ctx, id)
				return err == nil && (j.State == "done" || j.State == "failed")
			})
		}
		return gh.OpenPR(testRepo, branch, "main", "carol", "Add "+branch), sha
	}
	pr, sha := open(0)
	benchDeliver(b, gh, url, gh.PullRequestEvent("opened", testRepo, pr.Number))
	benchWaitPlan(ctx, b, gh, pr.Number, sha)

	var status time.Duration
	var r pairs
	// The requests of the plans alone, not of the pushes' jobs.
	var plans []githubfake.Request
	last := 0
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		r.raw = append(r.raw, rawInitPlan(b, fmt.Sprintf("fresh-%d", i)))
		pr, sha = open(i)
		from := len(gh.Requests())
		last = len(plans)
		b.StartTimer()
		start := time.Now()
		benchDeliver(b, gh, url, gh.PullRequestEvent("opened", testRepo, pr.Number))
		benchPoll(ctx, b, "plan comment on #"+fmt.Sprint(pr.Number), func() bool {
			for _, c := range botComments(gh, pr.Number) {
				if strings.Contains(c.Body, "<!-- planbot:plan") && strings.Contains(c.Body, sha[:7]) {
					return true
				}
			}
			return false
		})
		b.StopTimer()
		r.planbot = append(r.planbot, time.Since(start))
		benchWaitPlan(ctx, b, gh, pr.Number, sha)
		status += time.Since(start)
		plans = append(plans, gh.Requests()[from:]...)
		b.StartTimer()
	}
	r.report(b)
	if i > 0 {
		b.ReportMetric(float64(status.Nanoseconds())/float64(i), "status-ns")
	}
	planCalls(b, plans, 0, last, i, "new pull requests")
}

// pairs holds the durations of planbot's plans and of the raw terraform
// runs measured between them, one of each per iteration, so that both
// see the same moments of a shared machine.
type pairs struct{ planbot, raw []time.Duration }

// report reports the medians of both (median-ms, raw-median-ms) and the
// ratio of the first to the second: the figure of the speed goal, less
// sensitive than the mean to a moment when the machine was busy.
func (p pairs) report(b *testing.B) {
	if len(p.planbot) == 0 || len(p.raw) == 0 {
		return
	}
	median := func(ds []time.Duration) float64 {
		s := slices.Sorted(slices.Values(ds))
		m := s[len(s)/2]
		if len(s)%2 == 0 {
			m = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
		return float64(m) / float64(time.Millisecond)
	}
	pm, rm := median(p.planbot), median(p.raw)
	b.ReportMetric(pm, "median-ms")
	b.ReportMetric(rm, "raw-median-ms")
	b.ReportMetric(pm/rm, "ratio")
}

// rawInitPlan writes the benchmarks' root (see rawRoot) and runs
// `terraform init && terraform plan -out` there by hand, as
// BenchmarkRawTerraform's init-plan does, and returns how long the two
// took.
func rawInitPlan(b *testing.B, name string) time.Duration {
	b.Helper()
	dir := rawRoot(b, name)
	start := time.Now()
	runTerraform(b, dir, rawInitPlanArgs)
	return time.Since(start)
}

// rawRoot writes the benchmarks' root, envs/dev and modules/app with name
// as the module's input, into a fresh directory, as planbot checks each
// head out afresh, and returns the root's directory.
func rawRoot(b *testing.B, name string) string {
	b.Helper()
	root := filepath.Join(b.TempDir(), "infra")
	treetest.Write(b, root, map[string]string{"modules/app/main.tf": infraFiles()["modules/app/main.tf"], "envs/dev/main.tf": rootTF(name)})
	return filepath.Join(root, "envs/dev")
}

// runTerraform runs terraform with each of cmds in turn in dir, as in
// automation, and fails the benchmark when one fails.
func runTerraform(b *testing.B, dir string, cmds [][]string) {
	b.Helper()
	tf, err := exec.LookPath("terraform")
	if err != nil {
		b.Fatal("terraform is not on PATH")
	}
	for _, args := range cmds {
		cmd := exec.CommandContext(b.Context(), tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("terraform %s: %v\n%s", args[0], err, out)
		}
	}
}

// rawInitPlanArgs are the commands of the raw baseline.
var rawInitPlanArgs = [][]string{
	{"init", "-input=false", "-no-color"},
	{"plan", "-input=false", "-no-color", "-out=x"},
}

// BenchmarkRawTerraform is the baseline of BenchmarkPlanEndToEnd: the same
// root, written into a fresh directory per iteration as planbot checks out
// a fresh worktree per head. init-plan runs `terraform init` and `terraform
// plan -out` and nothing else; planbot-commands runs the five commands
// planbot runs for a root (fmt -check, init, plan -out, show -json, show),
// so that the difference to BenchmarkPlanEndToEnd is planbot's own cost.
func BenchmarkRawTerraform(b *testing.B) {
	steps := []struct {
		name string
		cmds [][]string
	}{
		{name: "init-plan", cmds: rawInitPlanArgs},
		{name: "planbot-commands", cmds: [][]string{
			{"fmt", "-no-color", "-check", "-diff", "-list=true", "-write=false", "-recursive=false"},
			{"init", "-input=false", "-no-color"},
			{"plan", "-input=false", "-no-color", "-out=x"},
			{"show", "-json", "-no-color", "x"},
			{"show", "-no-color", "x"},
		}},
	}
	for _, st := range steps {
		b.Run(st.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				dir := rawRoot(b, fmt.Sprintf("dev-%d", i))
				b.StartTimer()
				runTerraform(b, dir, st.cmds)
			}
		})
	}
}

// benchServer runs a planbot server in this process until the benchmark
// ends and returns its webhook URL. Its terraform processes start through
// planbot-sandbox, built for the benchmark as the Dockerfile builds it, as
// in production (see benchSandboxHelper). It logs at info level to nowhere, so
// that the cost of logging counts but the output does not drown the
// benchmark's; with -benchlog it logs at debug level to that file, and
// BenchmarkPlanEndToEnd lists the GitHub requests of its last plan.
func benchServer(b *testing.B, gh *githubfake.Server, extra ...string) string {
	b.Helper()
	_, url := benchServerMain(b, gh, extra...)
	return url
}

// benchServerMain is benchServer, and returns the server too.
func benchServerMain(b *testing.B, gh *githubfake.Server, extra ...string) (*Main, string) {
	b.Helper()
	args := append(appArgs(b, gh, b.TempDir()), "--checks="+*benchChecks)
	opts := serverOptions(b, append(args, extra...))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *benchLog != "" {
		f, err := os.Create(*benchLog)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := &Main{Options: opts, Logger: logger, SandboxHelper: benchSandboxHelper(b)}
	if err := m.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := m.Run(ctx)
		m.Close()
		done <- err
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("server: %v", err)
		}
	})
	benchPoll(ctx, b, "server healthy", func() bool { return healthy(m.Addr()) })
	return m, "http://" + m.Addr() + "/webhook"
}

// benchSandboxHelper builds cmd/planbot-sandbox as the Dockerfile does
// and returns its path: the helper that production installs next to
// planbot. Without it the benchmarks' servers would start every terraform
// process through this test binary, many times larger and slower to start.
func benchSandboxHelper(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "planbot-sandbox")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/planbot/planbot/cmd/planbot-sandbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build planbot-sandbox: %v\n%s", err, out)
	}
	return bin
}

// benchDeliver sends a pull_request webhook and checks that it is accepted.
func benchDeliver(b *testing.B, gh *githubfake.Server, url string, payload []byte) {
	b.Helper()
	benchDeliverEvent(b, gh, url, "pull_request", payload)
}

// benchWaitPlan waits until planbot/plan on sha is success and fails the
// benchmark if it ends otherwise or the plan comment does not name sha.
func benchWaitPlan(ctx context.Context, b *testing.B, gh *githubfake.Server, pr int, sha string) {
	b.Helper()
	var state string
	benchPoll(ctx, b, "planbot/plan on "+sha[:7], func() bool {
		state, _ = status(gh, sha, "planbot/plan")
		return state != "" && state != "pending"
	})
	if state != "success" {
		b.Fatalf("planbot/plan on %s = %s, want success", sha[:7], state)
	}
	for _, c := range botComments(gh, pr) {
		if strings.Contains(c.Body, "<!-- planbot:plan") && strings.Contains(c.Body, sha[:7]) {
			return
		}
	}
	b.Fatalf("no plan comment names %s", sha[:7])
}

// benchPoll polls cond every few milliseconds, far more often than
// waitFor, so that polling adds little to the measured latency.
func benchPoll(ctx context.Context, b *testing.B, what string, cond func() bool) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			b.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// BenchmarkApplyEndToEnd measures an /apply through merge: from the
// moment GitHub delivers the comment "/apply" on an approved, planned pull
// request to planbot's reply saying it merged. Each iteration opens a new
// pull request that changes envs/dev, waits for its plan and approves it
// before the timer starts. api-calls/op counts the REST calls to the fake
// per /apply (reading the PR, the gates, the apply's statuses and comment,
// the merge and the reply), git-requests/op its git requests.
func BenchmarkApplyEndToEnd(b *testing.B) {
	gh := githubfake.New(b)
	gh.CreateRepo(testRepo, infraFiles())
	gh.AddInstallation(1, testRepo)
	for _, u := range []string{"bob", "carol", "dave"} {
		gh.SetCollaborator(testRepo, u, "write")
	}
	gh.AddTeamMember("acme", "platform", "dave")
	url := benchServer(b, gh)
	ctx := b.Context()

	var api, git int
	var last []githubfake.Request
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		branch := fmt.Sprintf("apply-%d", i)
		sha := gh.Commit(testRepo, branch, map[string]string{"envs/dev/main.tf": rootTF(branch)}, nil, "change "+branch)
		pr := gh.OpenPR(testRepo, branch, "main", "carol", "Change "+branch)
		benchDeliverEvent(b, gh, url, "pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number))
		benchWaitPlan(ctx, b, gh, pr.Number, sha)
		gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha)
		c := gh.AddComment(testRepo, pr.Number, "bob", "/apply")
		before := len(gh.Requests())
		b.StartTimer()
		benchDeliverEvent(b, gh, url, "issue_comment", gh.IssueCommentEvent(testRepo, pr.Number, c))
		var reply string
		benchPoll(ctx, b, "reply to /apply", func() bool {
			for _, bc := range botComments(gh, pr.Number) {
				if strings.HasPrefix(bc.Body, "@bob") {
					reply = bc.Body
					return true
				}
			}
			return false
		})
		b.StopTimer()
		if !strings.Contains(reply, "merged") || !gh.PR(testRepo, pr.Number).Merged {
			b.Fatalf("PR #%d not merged by /apply; reply:\n%s", pr.Number, reply)
		}
		last = gh.Requests()[before:]
		a, g := countRequests(last)
		api, git = api+a, git+g
		b.StartTimer()
	}
	if i > 0 {
		b.ReportMetric(float64(api)/float64(i), "api-calls/op")
		b.ReportMetric(float64(git)/float64(i), "git-requests/op")
		if limit := maxApplyCalls + checkRunCalls(); api > limit*i {
			b.Errorf("%d REST calls in %d /apply; the most one may make is %d (TestGitHubCalls lists them)", api, i, limit)
		}
	}
	if *benchLog != "" {
		for _, r := range last {
			fmt.Fprintf(os.Stderr, "GitHub request of the last /apply: %s %s\n", r.Method, r.Path)
		}
	}
}

// countRequests returns how many of reqs are REST calls and how many git
// requests.
func countRequests(reqs []githubfake.Request) (api, git int) {
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/git/") {
			git++
		} else {
			api++
		}
	}
	return api, git
}

// benchDeliverEvent sends a webhook of event and checks that it is
// accepted.
func benchDeliverEvent(b *testing.B, gh *githubfake.Server, url, event string, payload []byte) {
	b.Helper()
	resp, _, err := gh.Deliver(b.Context(), url, testSecret, event, payload)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("deliver %s: status %d, want %d", event, resp.StatusCode, http.StatusAccepted)
	}
}
