package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/drift/drifttest"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner/terraform/statetest"
	"github.com/planbot/planbot/server"
)

func driftArgs(gh *githubfake.Server, dataDir string, extra ...string) []string {
	return append([]string{
		"drift",
		"--data-dir=" + dataDir,
		"--github-api-url=" + gh.APIURL(),
		fmt.Sprintf("--github-app-id=%d", gh.AppID()),
		"--github-app-key-file=" + gh.WritePrivateKey(),
		"--job-lease=3s",
	}, extra...)
}

// TestDriftGitHub runs `planbot drift` against the fake GitHub: one pass
// opens the project's issue, as a scheduled pass would, and the table
// names the repository, the project, the drift, the changed addresses and
// the issue; the exit status is 2.
func TestDriftGitHub(t *testing.T) {
	states := statetest.New(t)
	gh := drifttest.Fake(t, states)
	states.SetDataInput("live", "changed-in-the-console")
	dataDir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), driftArgs(gh, dataDir, "--repo", drifttest.Repo), &out, &errb)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (drift)\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var issues []githubfake.Issue
	for _, is := range gh.Issues(drifttest.Repo) {
		if len(is.Labels) == 1 && is.Labels[0] == drift.LabelName {
			issues = append(issues, is)
		}
	}
	if len(issues) != 1 || issues[0].Title != "Drift: acme/live live" || !strings.Contains(issues[0].Body, "terraform_data.input") {
		t.Fatalf("drift issues = %+v, want one for live naming terraform_data.input", issues)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("table has %d lines, want a header and one project:\n%s", len(lines), out.String())
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	if strings.Join(header, " ") != "REPO PROJECT DRIFTING CHANGED ISSUE" {
		t.Errorf("header = %q", lines[0])
	}
	want := []string{drifttest.Repo, "live", "yes", "1", fmt.Sprintf("#%d", issues[0].Number)}
	if len(row) < len(want) || strings.Join(row[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("row = %q, want it to start with %q", lines[1], want)
	}

	// The next pass by hand edits the same issue.
	out.Reset()
	if code := run(context.Background(), driftArgs(gh, dataDir, "--project", "live"), &out, &errb); code != 2 {
		t.Fatalf("second pass: exit %d, want 2\n%s", code, errb.String())
	}
	if n := len(gh.Issues(drifttest.Repo)); n != 1 {
		t.Errorf("%d issues after the second pass, want the same one", n)
	}
}

// TestDriftPassRunning checks that `planbot drift` does not overlap a pass
// that holds the store's lease: it says so and exits 1, writing nothing.
func TestDriftPassRunning(t *testing.T) {
	gh := githubfake.New(t)
	gh.CreateRepo(drifttest.Repo, map[string]string{"live/main.tf": "resource \"terraform_data\" \"input\" {}\n"})
	gh.AddInstallation(1, drifttest.Repo)
	dataDir := t.TempDir()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, filepath.Join(dataDir, "planbot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if ok, err := st.ClaimPass(ctx, drift.PassName, now.Add(-time.Minute), "replica-1", now, now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("claim pass: %v, %v", ok, err)
	}
	st.Close()
	var out, errb bytes.Buffer
	if code := run(ctx, driftArgs(gh, dataDir), &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "a drift pass is running") {
		t.Errorf("stderr lacks that a pass is running:\n%s", errb.String())
	}
	if n := len(gh.Issues(drifttest.Repo)); n != 0 {
		t.Errorf("%d issues written while another pass ran, want none", n)
	}
}
