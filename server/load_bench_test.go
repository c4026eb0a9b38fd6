package server

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/treetest"
)

// loadPRs is how many pull requests BenchmarkLoad opens at once.
var loadPRs = flag.Int("load-prs", 100, "pull requests BenchmarkLoad opens at once")

// loadRoots is how many new Terraform roots each pull request of
// BenchmarkLoad adds.
const loadRoots = 3

// loadParallelism is the --parallelism of BenchmarkLoad's server and the
// number of terraform runs at once of its baseline.
const loadParallelism = 4

// loadRootTF is the root pull request pr adds as its root r: one
// terraform_data resource with local state.
func loadRootTF(pr, r int) string {
	return fmt.Sprintf("resource \"terraform_data\" \"load\" {\n  input = \"pr-%d-root-%d\"\n}\n", pr, r)
}

// BenchmarkLoad opens -load-prs pull requests (100 by default) at once,
// each adding loadRoots new Terraform roots, against a server started with
// --parallelism 4, and measures the time from the first webhook until every
// pull request's planbot/plan is success. In the same run it measures the
// baseline: `terraform init && terraform plan` by hand over the same roots
// with the same parallelism.
//
// Metrics: ns/op is planbot's time; raw-ns the baseline's, ratio the one
// over the other; cpu-s, raw-cpu-s and cpu-ratio the same for the CPU time
// used (see cpuTime), which a busy machine disturbs far less; peak-terraform the most terraform processes alive at once
// under planbot (polled from /proc), which must not exceed the parallelism;
// peak-rss-MB the high-water mark of this process's resident memory while
// planbot plans (the fake GitHub included). Run it with -benchtime=1x; a
// smaller -load-prs, after -args, suits development.
func BenchmarkLoad(b *testing.B) {
	n := *loadPRs
	tf, err := exec.LookPath("terraform")
	if err != nil {
		b.Fatal("terraform is not on PATH")
	}
	gh := githubfake.New(b)
	gh.CreateRepo(testRepo, map[string]string{"README.md": "# load\n"})
	gh.AddInstallation(1, testRepo)
	gh.SetCollaborator(testRepo, "carol", "write")
	url := benchServer(b, gh, fmt.Sprintf("--parallelism=%d", loadParallelism))
	ctx := b.Context()

	round := 0
	var planbotTime, rawTime, planbotCPU, rawCPU time.Duration
	var peakTF, peakRaw int
	var peakRSS int64
	for b.Loop() {
		b.StopTimer()
		round++
		type pull struct {
			number int
			sha    string
		}
		pulls := make([]pull, n)
		for i := range n {
			branch := fmt.Sprintf("load-%d-%d", round, i)
			files := map[string]string{}
			for r := range loadRoots {
				files[fmt.Sprintf("load/%d/pr%d/r%d/main.tf", round, i, r)] = loadRootTF(i, r)
			}
			sha := gh.Commit(testRepo, branch, files, nil, "add roots")
			pr := gh.OpenPR(testRepo, branch, "main", "carol", "Load "+branch)
			pulls[i] = pull{pr.Number, sha}
		}
		payloads := make([][]byte, n)
		for i, p := range pulls {
			payloads[i] = gh.PullRequestEvent("opened", testRepo, p.number)
		}
		resetPeakRSS()
		watch := watchTerraform()
		cpu := cpuTime()
		b.StartTimer()

		start := time.Now()
		for _, p := range payloads {
			benchDeliver(b, gh, url, p)
		}
		shas := make([]string, n)
		for i, p := range pulls {
			shas[i] = p.sha
		}
		benchWaitAll(ctx, b, gh, shas, 10*time.Minute)
		planbotTime += time.Since(start)

		b.StopTimer()
		planbotCPU += cpuTime() - cpu
		peakTF = max(peakTF, watch())
		peakRSS = max(peakRSS, peakRSSBytes())

		cpu = cpuTime()
		raw, peak := rawLoad(ctx, b, tf, n)
		rawCPU += cpuTime() - cpu
		rawTime += raw
		peakRaw = max(peakRaw, peak)
		b.StartTimer()
	}
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(round), "raw-ns")
	b.ReportMetric(float64(planbotTime)/float64(rawTime), "ratio")
	b.ReportMetric(planbotCPU.Seconds()/float64(round), "cpu-s")
	b.ReportMetric(rawCPU.Seconds()/float64(round), "raw-cpu-s")
	b.ReportMetric(float64(planbotCPU)/float64(rawCPU), "cpu-ratio")
	b.ReportMetric(float64(peakTF), "peak-terraform")
	b.ReportMetric(float64(peakRaw), "peak-terraform-raw")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-rss-MB")
	if peakTF > loadParallelism {
		b.Errorf("%d terraform processes ran at once under --parallelism %d", peakTF, loadParallelism)
	}
}

// rawLoad is BenchmarkLoad's baseline: the same n×loadRoots roots, written
// into fresh directories, each run through `terraform init` and `terraform
// plan -out` by loadParallelism goroutines. It returns the time that took
// and the most terraform processes seen at once.
func rawLoad(ctx context.Context, b *testing.B, tf string, n int) (time.Duration, int) {
	b.Helper()
	base := b.TempDir()
	var dirs []string
	for i := range n {
		for r := range loadRoots {
			dir := filepath.Join(base, fmt.Sprintf("pr%d", i), fmt.Sprintf("r%d", r))
			treetest.Write(b, dir, map[string]string{"main.tf": loadRootTF(i, r)})
			dirs = append(dirs, dir)
		}
	}
	watch := watchTerraform()
	start := time.Now()
	work := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range loadParallelism {
		wg.Go(func() {
			for dir := range work {
				for _, args := range [][]string{
					{"init", "-input=false", "-no-color"},
					{"plan", "-input=false", "-no-color", "-out=x"},
				} {
					cmd := exec.CommandContext(ctx, tf, args...)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1")
					if out, err := cmd.CombinedOutput(); err != nil {
						failed.CompareAndSwap(nil, fmt.Sprintf("terraform %s in %s: %v\n%s", args[0], dir, err, out))
					}
				}
			}
		})
	}
	for _, d := range dirs {
		work <- d
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	peak := watch()
	if msg, ok := failed.Load().(string); ok {
		b.Fatal(msg)
	}
	return elapsed, peak
}

// benchWaitAll waits up to timeout until planbot/plan on each of shas is
// success, and fails the benchmark if one ends otherwise. It looks every
// 50 ms, and only at the heads not yet planned, so that its reads of the
// fake GitHub take little from the server under test.
func benchWaitAll(ctx context.Context, b *testing.B, gh *githubfake.Server, shas []string, timeout time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := slices.Clone(shas)
	for len(pending) > 0 {
		var err error
		pending = slices.DeleteFunc(pending, func(sha string) bool {
			state, desc := status(gh, sha, "planbot/plan")
			switch state {
			case "success":
				return true
			case "", "pending":
				return false
			}
			err = fmt.Errorf("planbot/plan on %s = %s (%s), want success", sha[:7], state, desc)
			return false
		})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-ctx.Done():
			b.Fatalf("gave up waiting for planbot/plan on %d heads: %v", len(pending), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchTerraform polls /proc every 20 ms for terraform processes that
// descend from this one, until the returned function is called; that
// returns the most seen at once.
func watchTerraform() (stop func() int) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak.Store(max(peak.Load(), int64(countTerraform())))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return int(peak.Load())
	}
}

// countTerraform returns how many processes whose executable is named
// terraform descend from this process. Other users of the machine may run
// terraform too; they are not counted. Only the candidates' ancestors are
// read, so that polling costs little of the CPU it measures.
func countTerraform() int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	parent := map[int]int{}
	ppid := func(pid int) int {
		if p, ok := parent[pid]; ok {
			return p
		}
		p, _ := procPPID(pid)
		parent[pid] = p
		return p
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || filepath.Base(exe) != "terraform" {
			continue
		}
		for p, depth := ppid(pid), 0; p > 1 && depth < 8; p, depth = ppid(p), depth+1 {
			if p == self {
				n++
				break
			}
		}
	}
	return n
}

// procPPID returns the parent of pid from /proc/PID/stat.
func procPPID(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: read after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// cpuTime returns the CPU time, user and system, that this process and
// its children that have ended (terraform, git, the sandbox helper, and
// the git processes of the GitHub fake) have used so far. Unlike the wall
// time, it hardly depends on what else the machine runs.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident memory (VmHWM), so that peakRSSBytes reports the peak from now.
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSBytes returns VmHWM, the most resident memory this process has
// held since resetPeakRSS; 0 where /proc does not say.
func peakRSSBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
