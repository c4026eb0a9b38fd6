package server

import (
	"context"
	"strings"
	"testing"
)

// TestApplyLiveLog checks that an apply's terraform output goes to the
// live log, masked, and that the run ends with its outcome, next to the
// plan's run.
func TestApplyLiveLog(t *testing.T) {
	gh := newFake(t)
	w := startWebServer(t, gh)
	pr := w.openPlanned("live-apply", "carol", devChange("dev-live"), "success")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	if reply := w.command(pr.Number, "bob", "/apply"); !strings.Contains(reply, "applied") {
		t.Fatalf("apply reply:\n%s", reply)
	}
	st := w.openStore()
	runs, err := st.LogRuns(context.Background(), testRepo, pr.Number, 10)
	if err != nil || len(runs) != 2 || !runs[0].Ended || !runs[1].Ended {
		t.Fatalf("runs of #%d = %+v, %v; want the plan's and the apply's, ended", pr.Number, runs, err)
	}
	chunks, err := st.Log(context.Background(), testRepo, pr.Number, runs[0].Run, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, c := range chunks {
		text.WriteString(c.Text)
	}
	last := chunks[len(chunks)-1]
	if !strings.Contains(text.String(), "Apply complete!") || !last.End || last.Text != "applied" {
		t.Errorf("the apply's live log:\n%s\nends with %+v; want terraform's apply output and the end", text.String(), last)
	}
	if strings.Contains(text.String(), liveSecret) {
		t.Errorf("the apply's live log holds the credential")
	}
}
