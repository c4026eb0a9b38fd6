package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/planbot/planbot/golden"
)

// sample fills a registry with one metric of each type.
func sample() *Registry {
	r := New()
	c := r.Counter("planbot_webhook_deliveries_total", "Webhook deliveries by event and result.", "event", "result")
	c.Inc("pull_request", "queued")
	c.Inc("pull_request", "queued")
	c.Inc("issue_comment", "ignored")
	c.Add(2.5, "ping", "ignored")
	r.Counter("planbot_empty_total", "A counter with no series yet.", "result")
	r.Counter("planbot_starts_total", "Starts, without labels.").Inc()
	r.Gauge("planbot_idle", "A gauge without labels, never set.")
	r.Histogram("planbot_idle_seconds", "A histogram without labels, never observed.", []float64{1})
	g := r.Gauge("planbot_temperature", "A gauge with labels.", "room")
	g.Set(21.5, "kitchen")
	g.Inc("attic")
	g.Dec("attic")
	g.Dec("attic")
	r.GaugeFunc("planbot_jobs_running", "Jobs running in this process.", func() float64 { return 3 })
	h := r.Histogram("planbot_job_duration_seconds", "Job durations.", []float64{0.1, 1, 10}, "event")
	for _, v := range []float64{0.05, 0.1, 0.5, 2, 20} {
		h.Observe(v, "pull_request")
	}
	h.Observe(1, "issue_comment")
	r.Histogram("planbot_unlabelled_seconds", "A histogram without labels.", []float64{1, math.Inf(+1)}).Observe(3)
	return r
}

func text(t *testing.T, r *Registry) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteTextGolden(t *testing.T) {
	golden.Check(t, "testdata/exposition.golden", text(t, sample()))
}

func TestEscaping(t *testing.T) {
	r := New()
	r.Counter("planbot_escaped_total", "Help with a \\ backslash\nand a newline \"quoted\".", "z", "a").
		Inc("last", "back\\slash \"quote\"\nnewline")
	got := text(t, r)
	want := `# HELP planbot_escaped_total Help with a \\ backslash\nand a newline "quoted".
# TYPE planbot_escaped_total counter
planbot_escaped_total{a="back\\slash \"quote\"\nnewline",z="last"} 1
`
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("exposition mismatch (-got +want):\n%s", diff)
	}
}

func TestSeriesAreDistinct(t *testing.T) {
	// Label values that would collide if joined naively stay apart.
	r := New()
	c := r.Counter("planbot_pairs_total", "Pairs.", "a", "b")
	c.Inc("x,y", "z")
	c.Inc("x", "y,z")
	c.Inc("x", "y,z")
	tests := []struct {
		name   string
		values []string
		want   float64
	}{
		{name: "first", values: []string{"x,y", "z"}, want: 1},
		{name: "second", values: []string{"x", "y,z"}, want: 2},
		{name: "unseen", values: []string{"x", "z"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Value(tt.values...); got != tt.want {
				t.Errorf("Value(%q) = %v, want %v", tt.values, got, tt.want)
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := New()
	h := r.Histogram("planbot_h_seconds", "H.", []float64{1, 2})
	for _, v := range []float64{1, 1.5, 2, 2.5, math.Inf(+1)} {
		h.Observe(v)
	}
	got := text(t, r)
	want := `# HELP planbot_h_seconds H.
# TYPE planbot_h_seconds histogram
planbot_h_seconds_bucket{le="1"} 1
planbot_h_seconds_bucket{le="2"} 3
planbot_h_seconds_bucket{le="+Inf"} 5
planbot_h_seconds_sum +Inf
planbot_h_seconds_count 5
`
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("exposition mismatch (-got +want):\n%s", diff)
	}
	if got := h.Count(); got != 5 {
		t.Errorf("Count() = %d, want 5", got)
	}
}

func TestExponentialBuckets(t *testing.T) {
	got := ExponentialBuckets(0.1, 4, 4)
	want := []float64{0.1, 0.4, 1.6, 6.4}
	if diff := cmp.Diff(got, want, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
		t.Errorf("ExponentialBuckets mismatch (-got +want):\n%s", diff)
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(r *Registry)
	}{
		{name: "duplicate name", f: func(r *Registry) {
			r.Counter("planbot_x_total", "X.")
			r.Gauge("planbot_x_total", "X again.")
		}},
		{name: "duplicate gauge func", f: func(r *Registry) {
			r.GaugeFunc("planbot_g", "G.", func() float64 { return 0 })
			r.GaugeFunc("planbot_g", "G.", func() float64 { return 0 })
		}},
		{name: "too few label values", f: func(r *Registry) { r.Counter("planbot_x_total", "X.", "a", "b").Inc("1") }},
		{name: "too many label values", f: func(r *Registry) { r.Histogram("planbot_h", "H.", nil).Observe(1, "extra") }},
		{name: "gauge label values", f: func(r *Registry) { r.Gauge("planbot_g", "G.", "a").Set(1) }},
		{name: "invalid metric name", f: func(r *Registry) { r.Counter("planbot-x", "X.") }},
		{name: "invalid label name", f: func(r *Registry) { r.Counter("planbot_x", "X.", "1a") }},
		{name: "reserved label le", f: func(r *Registry) { r.Histogram("planbot_h", "H.", nil, "le") }},
		{name: "repeated label", f: func(r *Registry) { r.Counter("planbot_x", "X.", "a", "a") }},
		{name: "reserved label prefix", f: func(r *Registry) { r.Gauge("planbot_g", "G.", "__a") }},
		{name: "UTF-8 metric name", f: func(r *Registry) { r.Gauge("planbot_é", "G.") }},
		{name: "runtime twice", f: func(r *Registry) { r.AddRuntime(); r.AddRuntime() }},
		{name: "unsorted buckets", f: func(r *Registry) { r.Histogram("planbot_h", "H.", []float64{2, 1}) }},
		{name: "negative counter", f: func(r *Registry) { r.Counter("planbot_x_total", "X.").Add(-1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tt.f(New())
		})
	}
}

func TestNilMetricsAreNoOps(t *testing.T) {
	var c *Counter
	var g *Gauge
	var h *Histogram
	c.Inc("any", "number", "of", "values")
	c.Add(1)
	g.Set(1)
	g.Inc()
	g.Dec()
	h.Observe(1, "x")
	if c.Value() != 0 || g.Value() != 0 || h.Count() != 0 {
		t.Error("a nil metric reports a value")
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := New()
	c := r.Counter("planbot_c_total", "C.", "worker")
	g := r.Gauge("planbot_g", "G.")
	h := r.Histogram("planbot_h_seconds", "H.", []float64{1}, "worker")
	const workers, n = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			label := fmt.Sprint(w % 2)
			for range n {
				c.Inc(label)
				g.Inc()
				h.Observe(0.5, label)
				if w == 0 {
					// Scrape while the others write.
					if err := r.WriteText(io.Discard); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if got, want := c.Value("0")+c.Value("1"), float64(workers*n); got != want {
		t.Errorf("counter total = %v, want %v", got, want)
	}
	if got, want := g.Value(), float64(workers*n); got != want {
		t.Errorf("gauge = %v, want %v", got, want)
	}
	if got, want := h.Count("0")+h.Count("1"), uint64(workers*n); got != want {
		t.Errorf("histogram count = %v, want %v", got, want)
	}
}

// scrape returns the families a Prometheus scraper reads from the
// handler of r.
func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d\n%s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	return mfs
}

func TestHandlerParses(t *testing.T) {
	mfs := scrape(t, sample())
	got := map[string]string{}
	for name, mf := range mfs {
		got[name] = mf.GetType().String()
	}
	want := map[string]string{
		"planbot_webhook_deliveries_total": "COUNTER",
		"planbot_starts_total":             "COUNTER",
		"planbot_idle":                     "GAUGE",
		"planbot_idle_seconds":             "HISTOGRAM",
		"planbot_temperature":              "GAUGE",
		"planbot_jobs_running":             "GAUGE",
		"planbot_job_duration_seconds":     "HISTOGRAM",
		"planbot_unlabelled_seconds":       "HISTOGRAM",
		// The handler counts its own failures to gather.
		"promhttp_metric_handler_errors_total": "COUNTER",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("families mismatch (-got +want):\n%s", diff)
	}
	h := mfs["planbot_job_duration_seconds"].GetMetric()
	if len(h) != 2 || h[1].GetHistogram().GetSampleCount() != 5 || h[1].GetHistogram().GetSampleSum() != 22.65 {
		t.Errorf("planbot_job_duration_seconds parsed as %v", h)
	}
}

func TestRuntimeCollectors(t *testing.T) {
	r := New()
	r.AddRuntime()
	mfs := scrape(t, r)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if mfs[name] == nil {
			t.Errorf("GET /metrics lacks %s", name)
		}
	}
}

func TestRegistriesAreSeparate(t *testing.T) {
	// Nothing goes to a global registry: two registries take the same
	// names, and each serves only its own.
	a, b := New(), New()
	a.Counter("planbot_x_total", "X.").Inc()
	b.Counter("planbot_x_total", "X.")
	if got := scrape(t, b)["planbot_x_total"].GetMetric()[0].GetCounter().GetValue(); got != 0 {
		t.Errorf("the second registry's counter = %v, want 0", got)
	}
}

func TestHandler(t *testing.T) {
	r := sample()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Content-Type"); got != ContentType {
		t.Errorf("Content-Type = %q", got)
	}
	if diff := cmp.Diff(string(body), text(t, r)); diff != "" {
		t.Errorf("body mismatch (-got +want):\n%s", diff)
	}
}
