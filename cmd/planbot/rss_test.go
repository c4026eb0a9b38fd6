package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/githubfake"
)

// idleAfter is how long BenchmarkIdleRSS lets the server settle.
const idleAfter = 5 * time.Second

// BenchmarkIdleRSS builds planbot twice, as `go build` does by default and
// as the Dockerfile does, starts `planbot server` from each binary with
// SQLite in a fresh data dir and GitHub unreachable, and reads its memory
// from /proc/PID/smaps_rollup idleAfter later. It reports rss-MB, and of
// that anon-MB (heap, stacks, runtime) and file-MB (the binary's pages and
// libraries mapped from the page cache; shared and reclaimable). Of the
// file pages, file-pmd-MB were mapped as 2 MB pages: a kernel that keeps a
// binary in large folios, as one freshly written often is, maps whole 2 MB
// ranges, so the same binary can measure more RSS right after it is built
// than after its pages have been evicted once. `make idle-rss` runs it.
func BenchmarkIdleRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/smaps_rollup"); err != nil {
		b.Skip("needs /proc/PID/smaps_rollup")
	}
	builds := []struct {
		name string
		env  []string
		args []string
	}{
		{name: "default", args: []string{"build"}},
		// The Dockerfile's build.
		{name: "docker", env: []string{"CGO_ENABLED=0"}, args: []string{"build", "-tags", "nomsgpack", "-trimpath", "-ldflags=-s -w"}},
	}
	dir := b.TempDir()
	// The fake's App key; the fake itself is never called.
	key := githubfake.New(b).WritePrivateKey()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("idle\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	// A closed port: GitHub is unreachable, which the server tolerates.
	api := "http://" + githubfake.FreeAddr(b) + "/"
	for _, bd := range builds {
		bin := filepath.Join(dir, "planbot-"+bd.name)
		cmd := exec.Command("go", append(bd.args, "-o", bin, ".")...)
		cmd.Env = append(os.Environ(), bd.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build (%s): %v\n%s", bd.name, err, out)
		}
		b.Run(bd.name, func(b *testing.B) {
			var m map[string]int64
			for b.Loop() {
				m = idleMemory(b, bin, "--addr=127.0.0.1:0", "--data-dir="+b.TempDir(), "--github-app-id=1",
					"--github-app-key-file="+key, "--webhook-secret-file="+secret, "--github-api-url="+api, "--redeliver-interval=0")
			}
			const mb = 1 << 10 // smaps counts kB
			b.ReportMetric(float64(m["Rss"])/mb, "rss-MB")
			b.ReportMetric(float64(m["Anonymous"])/mb, "anon-MB")
			b.ReportMetric(float64(m["Rss"]-m["Anonymous"])/mb, "file-MB")
			b.ReportMetric(float64(m["FilePmdMapped"])/mb, "file-pmd-MB")
		})
	}
}

// idleMemory starts `bin server args…`, waits idleAfter, reads the
// process's smaps_rollup (values in kB) and stops it.
func idleMemory(b *testing.B, bin string, args ...string) map[string]int64 {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"server"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	logFile := filepath.Join(b.TempDir(), "server.log")
	log, err := os.Create(logFile)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	exited := make(chan struct{})
	go func() {
		cmd.Process.Wait()
		close(exited)
	}()
	select {
	case <-exited:
		out, _ := os.ReadFile(logFile)
		b.Fatalf("planbot server exited:\n%s", out)
	case <-time.After(idleAfter):
	}
	f, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m
}
