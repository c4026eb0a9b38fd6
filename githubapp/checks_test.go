package githubapp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/planbot/planbot/checkrun"
)

// TestCheckRunAnnotationBatches writes a check run with more annotations
// than one request may carry: the client splits them into requests of 50
// (the fake answers 422 to more), and GitHub appends them all.
func TestCheckRunAnnotationBatches(t *testing.T) {
	gh, _, c := newClient(t)
	ctx := context.Background()
	sha := gh.Commit("acme/infra", "feature", map[string]string{"main.tf": "x\n"}, nil, "change")
	anns := func(n, from int) []checkrun.Annotation {
		var out []checkrun.Annotation
		for i := range n {
			out = append(out, checkrun.Annotation{Path: "main.tf", StartLine: from + i, EndLine: from + i, Level: "warning", Message: fmt.Sprint("line ", from+i)})
		}
		return out
	}
	run := checkrun.Run{Name: "planbot plan: .", HeadSHA: sha, Status: checkrun.Completed, Conclusion: "success", Title: "t", Summary: "s", Text: "plan", Annotations: anns(120, 1),
		Actions: []checkrun.Action{{Label: "Re-plan", Description: "Plan this pull request again", Identifier: "replan"}}}
	before := len(gh.Requests())
	id, err := c.CreateCheckRun(ctx, repo, run)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range gh.Requests()[before:] {
		if strings.Contains(r.Path, "/check-runs") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("120 annotations took %d requests, want 3 (create, then 2 updates)", n)
	}
	run.Annotations = anns(51, 121)
	if err := c.UpdateCheckRun(ctx, repo, id, run); err != nil {
		t.Fatal(err)
	}
	got, ok := gh.LatestCheckRun("acme/infra", sha, "planbot plan: .")
	if !ok || len(got.Annotations) != 171 || got.Annotations[170].StartLine != 171 || got.Text != "plan" || got.Conclusion != "success" || len(got.Actions) != 1 {
		t.Errorf("run has %d annotations, text %q, conclusion %q", len(got.Annotations), got.Text, got.Conclusion)
	}
	if got.Writes != 5 {
		t.Errorf("run written %d times, want 5", got.Writes)
	}
}
