package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// markedRoot returns a Terraform root whose apply is observable: the
// resource's local-exec provisioner, which runs only in terraform apply,
// appends a line to applies.log in the project's workspace. With block,
// it then waits (up to two minutes) until a file named release appears
// next to it, so that a test can stop planbot in the middle of the apply.
func markedRoot(dir, name string, block bool) map[string]string {
	cmd := "echo applied >> applies.log"
	if block {
		cmd += "; i=0; while [ ! -e release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done"
	}
	return map[string]string{dir + "/main.tf": fmt.Sprintf(`resource "terraform_data" "marked" {
  input = %q

  provisioner "local-exec" {
    command = %q
  }
}
`, name, cmd)}
}

// applyMarkers returns the paths of the applies.log files under dataDir
// and how many terraform applies they count in all.
func applyMarkers(t *testing.T, dataDir string) (files []string, applies int) {
	t.Helper()
	filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "applies.log" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		files = append(files, path)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			applies++
		}
		return nil
	})
	return files, applies
}

// prAudit returns the audit entries of a PR from the server's SQLite
// database.
func prAudit(t *testing.T, dataDir string, pr int) []audit.Entry {
	t.Helper()
	st := openStore(t, filepath.Join(dataDir, "planbot.db"))
	defer st.Close()
	entries, err := st.Audit(context.Background(), store.AuditFilter{Repo: testRepo, PR: pr})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// outcomes returns "action outcome" for each entry.
func outcomes(entries []audit.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+" "+e.Outcome)
	}
	return out
}

// TestDryRunAppliesNothing runs an approved /apply on a server started
// with --dry-run: terraform apply never runs (the fixture's provisioner
// leaves no marker and no state is written), nothing is merged or written
// to GitHub, and the audit log says dry_run for the apply and the merge.
func TestDryRunAppliesNothing(t *testing.T) {
	gh := newFake(t)
	dataDir := t.TempDir()
	e := startServer(t, gh, dataDir, "--dry-run")
	ctx := context.Background()

	// A dry run posts no comment and sets no status: follow the jobs.
	sha := gh.Commit(testRepo, "dry", markedRoot("envs/dry", "dry", false), nil, "dry run")
	pr := gh.OpenPR(testRepo, "dry", "main", "carol", "Dry run")
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("opened", testRepo, pr.Number), http.StatusAccepted))
	st := e.openDB()
	defer st.Close()
	plans, err := st.Plans(ctx, testRepo, pr.Number, sha)
	if err != nil || len(plans) != 1 || plans[0].Status != string(planbot.StatusPlanned) {
		t.Fatalf("plans after the dry-run plan: %d, %v; want envs/dry planned", len(plans), err)
	}

	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", sha)
	c := gh.AddComment(testRepo, pr.Number, "bob", "/apply")
	e.waitJob(e.deliver("issue_comment", gh.IssueCommentEvent(testRepo, pr.Number, c), http.StatusAccepted))

	if files, n := applyMarkers(t, dataDir); n != 0 {
		t.Errorf("terraform apply ran %d times in a dry run: %v", n, files)
	}
	filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "terraform.tfstate" {
			t.Errorf("a dry run wrote state: %s", path)
		}
		return nil
	})
	if gh.PR(testRepo, pr.Number).Merged || len(mergeRequests(gh, pr.Number)) != 0 {
		t.Errorf("a dry run merged: %v", mergeRequests(gh, pr.Number))
	}
	for _, r := range gh.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/access_tokens") && !strings.HasPrefix(r.Path, "/git/") {
			t.Errorf("a dry run wrote to GitHub: %s %s", r.Method, r.Path)
		}
	}
	got := outcomes(prAudit(t, dataDir, pr.Number))
	want := []string{"plan planned", "apply_requested started", "apply dry_run", "apply_requested started", "merge dry_run"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit = %q, want %q", got, want)
	}
	if p, err := st.LatestPlan(ctx, testRepo, pr.Number, "envs/dry"); err != nil || p.Status != string(planbot.StatusPlanned) {
		t.Errorf("plan after the dry run: %v; want still planned", planStatus(p, err))
	}
	waitFor(t, 5*time.Second, "dry-run log lines", func() bool {
		logs := e.logs.String()
		return strings.Contains(logs, "dry run: terraform apply") && strings.Contains(logs, "dry run: merge")
	})
}

func planStatus(p *store.Plan, err error) string {
	if err != nil {
		return err.Error()
	}
	return p.Project + " " + p.Status
}
