package githubfake_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestIssuesAndLabels checks the issue and label API against §9.2 of the
// GitHub reference: shared numbers with pull requests, 422 on a blank
// title, a too-long body or an existing label, listing by state and label,
// closing and reopening with state_reason.
func TestIssuesAndLabels(t *testing.T) {
	s, c := setup(t)
	ctx := t.Context()
	s.Commit("acme/infra", "feature", map[string]string{"f": "x"}, nil, "f")
	pr := s.OpenPR("acme/infra", "feature", "main", "alice", "a PR")

	if _, resp, err := c.Issues.GetLabel(ctx, "acme", "infra", "planbot:drift"); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing label: %v, %v; want 404", resp, err)
	}
	if _, resp, err := c.Issues.CreateLabel(ctx, "acme", "infra", &github.Label{Name: github.String("planbot:drift"), Color: github.String("d93f0b"), Description: github.String("drift")}); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create label: %v, %v", resp, err)
	}
	if _, resp, err := c.Issues.CreateLabel(ctx, "acme", "infra", &github.Label{Name: github.String("PLANBOT:drift")}); err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "already_exists") {
		t.Fatalf("duplicate label: %v, %v; want 422 already_exists", resp, err)
	}
	if _, resp, err := c.Issues.Create(ctx, "acme", "infra", &github.IssueRequest{Title: github.String("  ")}); err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("blank title: %v, %v; want 422", resp, err)
	}
	long := strings.Repeat("x", 65537)
	if _, resp, err := c.Issues.Create(ctx, "acme", "infra", &github.IssueRequest{Title: github.String("t"), Body: &long}); err == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("long body: %v, %v; want 422", resp, err)
	}
	is, resp, err := c.Issues.Create(ctx, "acme", "infra", &github.IssueRequest{Title: github.String("Drift: acme/infra dev"), Body: github.String("b"), Labels: &[]string{"planbot:drift"}})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create issue: %v, %v", resp, err)
	}
	if is.GetNumber() != pr.Number+1 {
		t.Errorf("issue number %d, want %d (shared with pull requests)", is.GetNumber(), pr.Number+1)
	}
	list, _, err := c.Issues.ListByRepo(ctx, "acme", "infra", &github.IssueListByRepoOptions{State: "all"})
	if err != nil || len(list) != 2 || !list[1].IsPullRequest() || list[0].IsPullRequest() {
		t.Fatalf("list all = %d items, %v; want the issue then the PR", len(list), err)
	}
	list, _, err = c.Issues.ListByRepo(ctx, "acme", "infra", &github.IssueListByRepoOptions{State: "all", Labels: []string{"planbot:drift"}})
	if err != nil || len(list) != 1 || list[0].GetNumber() != is.GetNumber() || list[0].Labels[0].GetName() != "planbot:drift" {
		t.Fatalf("list by label = %v, %v", list, err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "acme", "infra", is.GetNumber(), &github.IssueComment{Body: github.String("hello")}); err != nil {
		t.Fatalf("comment on an issue: %v", err)
	}
	closed, _, err := c.Issues.Edit(ctx, "acme", "infra", is.GetNumber(), &github.IssueRequest{State: github.String("closed"), StateReason: github.String("completed")})
	if err != nil || closed.GetState() != "closed" || closed.GetStateReason() != "completed" || closed.GetClosedBy().GetLogin() != s.BotLogin() {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	if list, _, _ := c.Issues.ListByRepo(ctx, "acme", "infra", &github.IssueListByRepoOptions{Labels: []string{"planbot:drift"}}); len(list) != 0 {
		t.Errorf("open issues after close = %d, want 0", len(list))
	}
	s.CloseIssue("acme/infra", is.GetNumber(), "alice")
	got, _, err := c.Issues.Get(ctx, "acme", "infra", is.GetNumber())
	if err != nil || got.GetClosedBy().GetLogin() != "alice" {
		t.Fatalf("closed by a person: %v, %v", got.GetClosedBy(), err)
	}
	re, _, err := c.Issues.Edit(ctx, "acme", "infra", is.GetNumber(), &github.IssueRequest{State: github.String("open"), Body: github.String("again")})
	if err != nil || re.GetState() != "open" || re.GetStateReason() != "reopened" {
		t.Fatalf("reopen: %+v, %v", re, err)
	}
	snap := s.Issues("acme/infra")
	if len(snap) != 1 || snap[0].Body != "again" || snap[0].Edits != 2 || len(s.Comments("acme/infra", is.GetNumber())) != 1 {
		t.Errorf("snapshot = %+v", snap)
	}
	if l, ok := s.RepoLabel("acme/infra", "planbot:drift"); !ok || l.Color != "d93f0b" {
		t.Errorf("label = %+v, %v", l, ok)
	}
}
