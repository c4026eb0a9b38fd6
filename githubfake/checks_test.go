package githubfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/githubfake"
)

// setupChange is setup with a commit on branch feature that changes
// main.tf, the head of the check runs these tests write.
func setupChange(t *testing.T) (*githubfake.Server, *github.Client, string) {
	t.Helper()
	s, c := setup(t)
	return s, c, s.Commit(repoName, "feature", map[string]string{"main.tf": "x\n"}, nil, "change")
}

// TestCheckRuns creates, updates and lists check runs as GitHub does:
// annotations are appended across updates, a conclusion completes the
// run, and the list shows the newest run of each name.
func TestCheckRuns(t *testing.T) {
	s, c, sha := setupChange(t)
	ctx := context.Background()
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Change")
	ann := func(line int) *github.CheckRunAnnotation {
		return &github.CheckRunAnnotation{Path: github.String("main.tf"), StartLine: github.Int(line), EndLine: github.Int(line),
			AnnotationLevel: github.String("warning"), Message: github.String("not formatted")}
	}
	cr, resp, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{
		Name: "planbot plan: .", HeadSHA: sha, Status: github.String("in_progress"), ExternalID: github.String("pr=1&project=."),
	})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	if cr.GetStatus() != "in_progress" || cr.GetStartedAt().IsZero() || cr.Conclusion != nil || len(cr.PullRequests) != 1 || cr.PullRequests[0].GetNumber() != pr.Number {
		t.Errorf("created run = %+v", cr)
	}
	out := func(anns ...*github.CheckRunAnnotation) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: github.String("Terraform plan: 1 to add"), Summary: github.String("summary"), Text: github.String("text"), Annotations: anns}
	}
	_, _, err = c.Checks.UpdateCheckRun(ctx, "acme", "infra", cr.GetID(), github.UpdateCheckRunOptions{
		Name: "planbot plan: .", Conclusion: github.String("success"), Output: out(ann(1), ann(2)),
		Actions: []*github.CheckRunAction{{Label: "Apply", Description: "Apply this project's saved plan", Identifier: "apply"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "acme", "infra", cr.GetID(), github.UpdateCheckRunOptions{Name: "planbot plan: .", Output: out(ann(3))}); err != nil {
		t.Fatal(err)
	}
	got, ok := s.LatestCheckRun(repoName, sha, "planbot plan: .")
	if !ok || got.Status != "completed" || got.Conclusion != "success" || len(got.Annotations) != 3 || got.Writes != 3 || len(got.Actions) != 1 || got.Text != "text" {
		t.Errorf("run = %+v", got)
	}
	// A newer run of the same name replaces it in the list.
	newer, _, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{Name: "planbot plan: .", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "infra", sha, &github.ListCheckRunsOptions{CheckName: github.String("planbot plan: .")})
	if err != nil || list.GetTotal() != 1 || list.CheckRuns[0].GetID() != newer.GetID() || list.CheckRuns[0].GetStatus() != "queued" {
		t.Errorf("list = %+v, %v", list, err)
	}
	all, _, err := c.Checks.ListCheckRunsForRef(ctx, "acme", "infra", "feature", &github.ListCheckRunsOptions{Filter: github.String("all")})
	if err != nil || all.GetTotal() != 2 {
		t.Errorf("list all = %+v, %v", all, err)
	}
	anns, _, err := c.Checks.ListCheckRunAnnotations(ctx, "acme", "infra", cr.GetID(), nil)
	if err != nil || len(anns) != 3 || anns[2].GetStartLine() != 3 {
		t.Errorf("annotations = %+v, %v", anns, err)
	}
}

// TestCheckRunValidation sends what GitHub refuses with 422.
func TestCheckRunValidation(t *testing.T) {
	s, c, sha := setupChange(t)
	ctx := context.Background()
	long := strings.Repeat("é", 40000) // 80,000 bytes
	anns := func(n int) []*github.CheckRunAnnotation {
		var out []*github.CheckRunAnnotation
		for i := range n {
			out = append(out, &github.CheckRunAnnotation{Path: github.String("main.tf"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
				AnnotationLevel: github.String("notice"), Message: github.String("m")})
		}
		return out
	}
	output := func(text string, n int) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"), Text: github.String(text), Annotations: anns(n)}
	}
	action := func(label, desc, id string) []*github.CheckRunAction {
		return []*github.CheckRunAction{{Label: label, Description: desc, Identifier: id}}
	}
	tests := []struct {
		name string
		opts github.CreateCheckRunOptions
		want string
	}{
		{"text over 65535 bytes", github.CreateCheckRunOptions{Output: output(long, 0)}, "Only 65535 characters are allowed; 80000 were supplied."},
		{"51 annotations", github.CreateCheckRunOptions{Output: output("", 51)}, "No more than 50 items are allowed; 51 were supplied."},
		{"4 actions", github.CreateCheckRunOptions{Actions: append(append(action("a", "b", "c"), action("a", "b", "d")...), append(action("a", "b", "e"), action("a", "b", "f")...)...)}, "No more than 3 items are allowed; 4 were supplied."},
		{"label over 20", github.CreateCheckRunOptions{Actions: action(strings.Repeat("l", 21), "d", "i")}, "Only 20 characters are allowed; 21 were supplied."},
		{"description over 40", github.CreateCheckRunOptions{Actions: action("l", strings.Repeat("d", 41), "i")}, "Only 40 characters are allowed; 41 were supplied."},
		{"identifier over 20", github.CreateCheckRunOptions{Actions: action("l", "d", strings.Repeat("i", 21))}, "Only 20 characters are allowed; 21 were supplied."},
		{"completed without conclusion", github.CreateCheckRunOptions{Status: github.String("completed")}, "conclusion"},
		{"unknown status", github.CreateCheckRunOptions{Status: github.String("running")}, "is not a member"},
		{"unknown commit", github.CreateCheckRunOptions{HeadSHA: strings.Repeat("0", 40)}, "Validation Failed"},
		{"annotation without a level", github.CreateCheckRunOptions{Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"),
			Annotations: []*github.CheckRunAnnotation{{Path: github.String("a"), StartLine: github.Int(1), EndLine: github.Int(1), Message: github.String("m")}}}}, "is not a member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Name = "planbot plan: ."
			if opts.HeadSHA == "" {
				opts.HeadSHA = sha
			}
			_, resp, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", opts)
			if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("create: %v, want 422 %q", err, tt.want)
			}
		})
	}
	if runs := s.CheckRuns(repoName, sha); len(runs) != 0 {
		t.Errorf("refused requests made %d runs", len(runs))
	}
	// The same limits hold for updates; 50 annotations pass.
	cr, _, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{Name: "x", HeadSHA: sha, Output: output("", 50)})
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := c.Checks.UpdateCheckRun(ctx, "acme", "infra", cr.GetID(), github.UpdateCheckRunOptions{Name: "x", Output: output(long, 0)}); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("update with a long text: %v", err)
	}
	if _, resp, _ := c.Checks.UpdateCheckRun(ctx, "acme", "infra", cr.GetID()+1000, github.UpdateCheckRunOptions{Name: "x"}); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("update of an unknown run: %v", resp)
	}
}

// TestCheckRunCreatedCompleted creates a run already completed, as planbot
// does, in one request: it keeps the started_at it was given and is
// completed now; without a started_at it started now too. A started_at
// that is not ISO 8601 is refused with 422.
func TestCheckRunCreatedCompleted(t *testing.T) {
	s, c, sha := setupChange(t)
	ctx := context.Background()
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cr, _, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{
		Name: "planbot plan: .", HeadSHA: sha, Status: github.String("completed"), Conclusion: github.String("success"),
		StartedAt: &github.Timestamp{Time: began}, Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr.GetStatus() != "completed" || cr.GetConclusion() != "success" || !cr.GetStartedAt().Time.Equal(began) || cr.GetCompletedAt().Time.Before(began) {
		t.Errorf("created run: status %s, conclusion %s, started %v, completed %v", cr.GetStatus(), cr.GetConclusion(), cr.GetStartedAt(), cr.GetCompletedAt())
	}
	got, _ := s.LatestCheckRun(repoName, sha, "planbot plan: .")
	if got.Writes != 1 || !got.StartedAt.Equal(began) {
		t.Errorf("run = %+v, want one write, started %v", got, began)
	}
	plain, _, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{Name: "plain", HeadSHA: sha, Conclusion: github.String("neutral")})
	if err != nil {
		t.Fatal(err)
	}
	if plain.GetStatus() != "completed" || plain.GetStartedAt().IsZero() || plain.GetCompletedAt().IsZero() {
		t.Errorf("run created with a conclusion: status %s, started %v, completed %v", plain.GetStatus(), plain.GetStartedAt(), plain.GetCompletedAt())
	}
	req, err := c.NewRequest(http.MethodPost, "repos/acme/infra/check-runs", map[string]any{"name": "bad", "head_sha": sha, "started_at": "yesterday"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Do(ctx, req, nil); resp == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(err), "ISO 8601") {
		t.Errorf("started_at \"yesterday\": %v", err)
	}
}

// TestClick clicks a check run's button: the App receives a signed
// check_run requested_action delivery naming the button and the person.
func TestClick(t *testing.T) {
	s, c, sha := setupChange(t)
	ctx := context.Background()
	pr := s.OpenPR(repoName, "feature", "main", "alice", "Change")
	cr, _, err := c.Checks.CreateCheckRun(ctx, "acme", "infra", github.CreateCheckRunOptions{
		Name: "planbot plan: .", HeadSHA: sha, ExternalID: github.String("pr=1&project=."), Conclusion: github.String("success"),
		Output:  &github.CheckRunOutput{Title: github.String("title"), Summary: github.String("summary")},
		Actions: []*github.CheckRunAction{{Label: "Apply", Description: "Apply it", Identifier: "apply"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		event, signature string
		body             []byte
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.event, got.signature = r.Header.Get("X-GitHub-Event"), r.Header.Get("X-Hub-Signature-256")
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer app.Close()
	resp, _, err := s.Click(ctx, app.URL, "secret", repoName, cr.GetID(), "dave", "apply")
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("click: %v", err)
	}
	if got.event != "check_run" || got.signature != githubfake.Sign([]byte("secret"), got.body) {
		t.Errorf("delivery %q signed %q", got.event, got.signature)
	}
	ev, err := github.ParseWebHook("check_run", got.body)
	if err != nil {
		t.Fatal(err)
	}
	run := ev.(*github.CheckRunEvent)
	if run.GetAction() != "requested_action" || run.GetRequestedAction().Identifier != "apply" || run.GetSender().GetLogin() != "dave" ||
		run.GetCheckRun().GetID() != cr.GetID() || run.GetCheckRun().GetExternalID() != "pr=1&project=." || run.GetCheckRun().GetOutput().GetSummary() != "summary" ||
		len(run.GetCheckRun().PullRequests) != 1 || run.GetCheckRun().PullRequests[0].GetNumber() != pr.Number || run.GetInstallation().GetID() != installID {
		var m map[string]any
		_ = json.Unmarshal(got.body, &m)
		t.Errorf("payload = %v", m)
	}
	suite, err := github.ParseWebHook("check_suite", s.CheckSuiteEvent("rerequested", repoName, sha, "dave"))
	if err != nil {
		t.Fatal(err)
	}
	if cs := suite.(*github.CheckSuiteEvent); cs.GetCheckSuite().GetHeadSHA() != sha || len(cs.GetCheckSuite().PullRequests) != 1 || cs.GetSender().GetLogin() != "dave" {
		t.Errorf("check_suite payload = %+v", cs)
	}
}
