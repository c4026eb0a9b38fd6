package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/drift/drifttest"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/runner/terraform/statetest"
	"github.com/planbot/planbot/store"
)

// driftIssues returns the issues of the drift repo labelled planbot:drift.
func driftIssues(gh *githubfake.Server) []githubfake.Issue {
	var out []githubfake.Issue
	for _, is := range gh.Issues(drifttest.Repo) {
		for _, l := range is.Labels {
			if l == drift.LabelName {
				out = append(out, is)
			}
		}
	}
	return out
}

// oneIssue waits until the newest drift issue of the drift repo satisfies
// cond, failing as soon as more than one drift issue is open or more than
// max exist.
func oneIssue(t *testing.T, gh *githubfake.Server, max int, what string, cond func(githubfake.Issue) bool) githubfake.Issue {
	t.Helper()
	var got githubfake.Issue
	waitFor(t, 2*time.Minute, what, func() bool {
		issues := driftIssues(gh)
		open := 0
		for _, is := range issues {
			if is.State == "open" {
				open++
			}
		}
		if open > 1 || len(issues) > max {
			t.Fatalf("%d drift issues, %d open; want at most %d, one open: %+v", len(issues), open, max, issues)
		}
		if len(issues) > 0 && cond(issues[len(issues)-1]) {
			got = issues[len(issues)-1]
			return true
		}
		return false
	})
	return got
}

// TestDriftIssueLifecycle runs scheduled drift passes against a root whose
// state lives on terraform's http backend: drift opens one labelled issue
// naming the resource, the next pass edits it in place, restoring the
// state closes it, and an issue a person closes while the drift persists
// is reopened.
func TestDriftIssueLifecycle(t *testing.T) {
	states := statetest.New(t)
	gh := drifttest.Fake(t, states)
	states.SetDataInput("live", "changed-in-the-console")
	e := startServer(t, gh, t.TempDir(), "--drift-schedule=@every 2s")

	is := oneIssue(t, gh, 1, "drift issue opened", func(is githubfake.Issue) bool { return is.State == "open" })
	if is.Title != "Drift: acme/live live" || is.User != gh.BotLogin() {
		t.Errorf("issue %q by %s, want %q by the bot", is.Title, is.User, "Drift: acme/live live")
	}
	mustContain(t, is.Body, "terraform_data.input", "Drift in `live`", "1 to change", "changed-in-the-console", "1 check)")
	if l, ok := gh.RepoLabel(drifttest.Repo, drift.LabelName); !ok || l.Description == "" {
		t.Errorf("label %s = %+v, %v; want it created with a description", drift.LabelName, l, ok)
	}

	edited := oneIssue(t, gh, 1, "issue edited by the next pass", func(x githubfake.Issue) bool { return x.Edits > 0 })
	if edited.Number != is.Number || !strings.Contains(edited.Body, "checks)") {
		t.Errorf("next pass wrote #%d with body %q; want #%d edited with a last checked line", edited.Number, edited.Body, is.Number)
	}
	if n := len(gh.Comments(drifttest.Repo, is.Number)); n != 0 {
		t.Errorf("%d comments on the issue while it drifts, want none (history is the last checked line)", n)
	}

	states.SetDataInput("live", "v1")
	closed := oneIssue(t, gh, 1, "issue closed after the state is restored", func(x githubfake.Issue) bool { return x.State == "closed" })
	if closed.ClosedBy != gh.BotLogin() {
		t.Errorf("closed by %q, want the bot", closed.ClosedBy)
	}
	cs := gh.Comments(drifttest.Repo, is.Number)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "No drift any more") {
		t.Errorf("comments after the close = %+v, want one saying there is no drift any more", cs)
	}

	// Drift that comes back after planbot closed the issue is a new
	// episode, with a new issue.
	states.SetDataInput("live", "changed-again")
	again := oneIssue(t, gh, 2, "new drift opens a new issue", func(x githubfake.Issue) bool { return x.State == "open" })
	if again.Number == is.Number {
		t.Errorf("new drift reopened #%d, want a new issue", is.Number)
	}
	gh.CloseIssue(drifttest.Repo, again.Number, "alice")
	reopened := oneIssue(t, gh, 2, "person-closed issue reopened", func(x githubfake.Issue) bool {
		return x.State == "open" && x.ClosedBy == "alice"
	})
	if reopened.Number != again.Number {
		t.Errorf("reopened #%d, want #%d", reopened.Number, again.Number)
	}
	cs = gh.Comments(drifttest.Repo, again.Number)
	if last := cs[len(cs)-1]; !strings.Contains(last.Body, "Reopened") {
		t.Errorf("last comment %q, want one saying it was reopened", last.Body)
	}
	e.stop()

	st, err := OpenStore(context.Background(), filepath.Join(e.dataDir, "planbot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Audit(context.Background(), store.AuditFilter{Repo: drifttest.Repo})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
		if en.Action == audit.ActionDriftDetected && (en.Project != "live" || len(en.HeadSHA) != 40 || en.PlanSHA256 == "") {
			t.Errorf("drift_detected entry %+v lacks the project, commit or plan hash", en)
		}
	}
	if !seen[audit.ActionDriftDetected] || !seen[audit.ActionDriftResolved] {
		t.Errorf("audit actions %v, want drift_detected and drift_resolved", seen)
	}
}
