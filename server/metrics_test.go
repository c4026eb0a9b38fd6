package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/planbot/planbot/metrics"
)

// scrape returns the body of GET /metrics, checking its status and type.
func (e *testEnv) scrape() string {
	e.t.Helper()
	resp, err := http.Get(e.metricsURL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: status %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != metrics.ContentType {
		e.t.Errorf("Content-Type = %q, want %q", got, metrics.ContentType)
	}
	return string(body)
}

// TestMetricsEndpoint plans, refuses and applies a PR and reads what
// happened from GET /metrics.
func TestMetricsEndpoint(t *testing.T) {
	gh := newFake(t)
	e := startServer(t, gh, t.TempDir())
	if body := e.scrape(); !strings.Contains(body, "\nplanbot_jobs_running 0\n") {
		t.Errorf("a fresh server does not report 0 jobs running:\n%s", body)
	}

	pr := e.openPlanned("metrics", "carol", devChange("dev-metrics"), "success")
	// The second delivery finds the head planned and posted: the project
	// is planned only once.
	e.waitJob(e.deliver("pull_request", gh.PullRequestEvent("synchronize", testRepo, pr.Number), http.StatusAccepted))
	wantRefused(t, e.command(pr.Number, "bob", "/apply"), "approvals")
	gh.SubmitReview(testRepo, pr.Number, "dave", "APPROVED", pr.HeadSHA)
	if reply := e.command(pr.Number, "bob", "/apply"); !strings.Contains(reply, "merged") {
		t.Fatalf("apply reply:\n%s", reply)
	}

	want := []string{
		`planbot_webhook_deliveries_total{event="pull_request",result="queued"} 2`,
		`planbot_webhook_deliveries_total{event="issue_comment",result="queued"} 2`,
		`planbot_project_plans_total{kind="terraform",status="planned"} 1`,
		`planbot_project_plan_duration_seconds_count{kind="terraform"} 1`,
		`planbot_jobs_total{event="pull_request",result="done"} 2`,
		`planbot_jobs_total{event="issue_comment",result="done"} 2`,
		`planbot_job_duration_seconds_count{event="issue_comment"} 2`,
		`planbot_jobs_running 0`,
		`planbot_applies_total{result="refused"} 1`,
		`planbot_applies_total{result="applied"} 1`,
		`planbot_merges_total{result="merged"} 1`,
	}
	// The reply to /apply is posted before its job is recorded as done.
	body := e.waitMetrics(t, want)
	// What a Prometheus server reads: the exposition parses, every metric
	// planbot has served since its first release is there with its type,
	// and so are the queue, GitHub, Go runtime and process metrics.
	checkExposition(t, body)
}

// waitMetrics scrapes GET /metrics until it has every line of want, or a
// minute has passed, and returns the last scrape.
func (e *testEnv) waitMetrics(t *testing.T, want []string) string {
	t.Helper()
	var body string
	var missing []string
	for deadline := time.Now().Add(time.Minute); ; {
		body = e.scrape()
		missing = missing[:0]
		for _, line := range want {
			if !strings.Contains(body, "\n"+line+"\n") {
				missing = append(missing, line)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("GET /metrics lacks\n%s\nin:\n%s", strings.Join(missing, "\n"), body)
	}
	return body
}

// checkExposition checks what a Prometheus server reads in body: the
// exposition parses, and has every metric of planbot, the Go runtime and
// the process with its type.
func checkExposition(t *testing.T, body string) {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET /metrics does not parse: %v\n%s", err, body)
	}
	types := map[string]string{
		"planbot_webhook_deliveries_total":      "COUNTER",
		"planbot_webhook_requests_in_flight":    "GAUGE",
		"planbot_jobs_total":                    "COUNTER",
		"planbot_job_duration_seconds":          "HISTOGRAM",
		"planbot_jobs_running":                  "GAUGE",
		"planbot_project_plans_total":           "COUNTER",
		"planbot_project_plan_duration_seconds": "HISTOGRAM",
		"planbot_applies_total":                 "COUNTER",
		"planbot_merges_total":                  "COUNTER",
		"planbot_queue_depth":                   "GAUGE",
		"planbot_jobs_in_flight":                "GAUGE",
		"planbot_github_api_calls_total":        "COUNTER",
		"go_goroutines":                         "GAUGE",
		"process_cpu_seconds_total":             "COUNTER",
	}
	for name, typ := range types {
		switch mf := mfs[name]; {
		case mf == nil:
			t.Errorf("GET /metrics lacks %s", name)
		case mf.GetType().String() != typ:
			t.Errorf("%s is a %s, want a %s", name, mf.GetType(), typ)
		}
	}
	if mf := mfs["planbot_github_api_calls_total"]; mf != nil {
		var ok float64
		for _, s := range mf.GetMetric() {
			if s.GetLabel()[0].GetValue() == "2xx" {
				ok = s.GetCounter().GetValue()
			}
		}
		if ok == 0 {
			t.Errorf("planbot_github_api_calls_total counts no 2xx answers after a plan and an apply: %v", mf)
		}
	}
}
