// Package metrics gives planbot's components counters, histograms and
// gauges, kept by the Prometheus client library and served at /metrics.
//
// A Registry wraps a prometheus.Registry of its own; nothing is registered
// in the library's global default registry, so each server (and each test)
// has its metrics to itself. Each metric is registered once under a unique
// name with a fixed list of label names, and holds one series per distinct
// tuple of label values, given in the order of the label names on every
// update. Registering a name twice, an invalid name, or updating a metric
// with the wrong number of label values is a programming error and panics.
//
// The methods of a nil *Counter, *Gauge or *Histogram do nothing, so a
// component whose metric field is unset records nothing.
//
// Handler serves the registry with promhttp.HandlerFor, in the text
// exposition format unless the scraper asks for another one; WriteText
// writes the same text. Metrics are sorted by name and each metric's series
// by their labels, so the output of a registry is deterministic.
// AddRuntime adds the Go runtime and process collectors, which a server
// registers and tests usually do not.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// ContentType is the media type of the text exposition format, version
// 0.0.4, as Handler serves it to a scraper that does not ask for another
// format: metric names outside the classic character set would be escaped
// with underscores, and planbot's never are.
const ContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// validName reports whether s is a valid metric name (colons allowed) or
// label name (colons not allowed) in the classic character set: the
// library would also accept any UTF-8 name, which older scrapers cannot
// read without quoting.
func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case r == ':' && colon:
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Registry is a set of metrics.
type Registry struct {
	reg *prometheus.Registry
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{reg: prometheus.NewRegistry()}
}

// AddRuntime registers the Go runtime collector (go_* metrics: goroutines,
// memory, garbage collection) and the process collector (process_*: CPU
// time, resident memory, open file descriptors, start time).
func (r *Registry) AddRuntime() {
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// check panics on an invalid metric name or label names.
func check(name string, labels []string) {
	if !validName(name, true) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	for _, l := range labels {
		if !validName(l, false) || strings.HasPrefix(l, "__") {
			panic(fmt.Sprintf("metrics: invalid label name %q of %s", l, name))
		}
	}
}

// register checks the names of c and registers it, panicking on a
// duplicate or invalid name.
func (r *Registry) register(name string, labels []string, c prometheus.Collector) {
	check(name, labels)
	if err := r.reg.Register(c); err != nil {
		panic(fmt.Sprintf("metrics: register %s: %v", name, err))
	}
}

// vector is the library's vector of a metric's series of type M, one per
// tuple of label values.
type vector[M any] interface {
	prometheus.Collector
	WithLabelValues(values ...string) M
}

// newVec registers v, the library's vector of the metric name with
// labels, and returns it as a vec.
func newVec[M any, V vector[M]](r *Registry, name string, labels []string, v V) vec[M, V] {
	r.register(name, labels, v)
	if len(labels) == 0 {
		v.WithLabelValues() // a metric without labels always has its sample
	}
	return vec[M, V]{name: name, labels: slices.Clone(labels), v: v}
}

// vec is what every labelled metric has in common: its name, label names
// and the library's vector of its series.
type vec[M any, V vector[M]] struct {
	name   string
	labels []string
	v      V
}

// series returns the series of the label values, creating it, and panics
// unless values has one value per label.
func (v *vec[M, V]) series(values []string) M {
	v.checkValues(values)
	return v.v.WithLabelValues(values...)
}

// checkValues panics unless values has one value per label.
func (v *vec[M, V]) checkValues(values []string) {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s has labels %q, got %d values %q", v.name, v.labels, len(values), values))
	}
}

// find returns the written series of the label values, nil if it has none
// yet. It reads without creating the series, so that a look-up does not
// add a sample to the exposition.
func (v *vec[M, V]) find(values []string) *dto.Metric {
	v.checkValues(values)
	want := map[string]string{}
	for i, l := range v.labels {
		want[l] = values[i]
	}
	ch := make(chan prometheus.Metric)
	go func() {
		v.v.Collect(ch)
		close(ch)
	}()
	var found *dto.Metric
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil || found != nil {
			continue // drain the channel
		}
		if matches(d.GetLabel(), want) {
			found = &d
		}
	}
	return found
}

// matches reports whether pairs are exactly the labels of want.
func matches(pairs []*dto.LabelPair, want map[string]string) bool {
	if len(pairs) != len(want) {
		return false
	}
	for _, p := range pairs {
		if v, ok := want[p.GetName()]; !ok || v != p.GetValue() {
			return false
		}
	}
	return true
}

// Counter is a monotonically increasing value per label tuple.
type Counter struct {
	vec[prometheus.Counter, *prometheus.CounterVec]
}

// Counter registers a counter. By convention its name ends in _total.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	return &Counter{newVec(r, name, labels, v)}
}

// Inc adds 1 to the series of the label values.
func (c *Counter) Inc(values ...string) { c.Add(1, values...) }

// Add adds v, which must not be negative, to the series of the label
// values.
func (c *Counter) Add(v float64, values ...string) {
	if c == nil {
		return
	}
	if v < 0 || math.IsNaN(v) {
		panic(fmt.Sprintf("metrics: counter %s added %v", c.name, v))
	}
	c.series(values).Add(v)
}

// Value returns the current value of the series of the label values.
func (c *Counter) Value(values ...string) float64 {
	if c == nil {
		return 0
	}
	return c.find(values).GetCounter().GetValue()
}

// Gauge is a value per label tuple that goes up and down.
type Gauge struct {
	vec[prometheus.Gauge, *prometheus.GaugeVec]
}

// Gauge registers a gauge.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	return &Gauge{newVec(r, name, labels, v)}
}

// Set sets the series of the label values to v.
func (g *Gauge) Set(v float64, values ...string) {
	if g == nil {
		return
	}
	g.series(values).Set(v)
}

// Add adds v, which may be negative, to the series of the label values.
func (g *Gauge) Add(v float64, values ...string) {
	if g == nil {
		return
	}
	g.series(values).Add(v)
}

// Inc adds 1 to the series of the label values.
func (g *Gauge) Inc(values ...string) { g.Add(1, values...) }

// Dec subtracts 1 from the series of the label values.
func (g *Gauge) Dec(values ...string) { g.Add(-1, values...) }

// Value returns the current value of the series of the label values.
func (g *Gauge) Value(values ...string) float64 {
	if g == nil {
		return 0
	}
	return g.find(values).GetGauge().GetValue()
}

// GaugeFunc registers a gauge without labels whose value f returns each
// time the metrics are gathered. f must be safe for concurrent use.
func (r *Registry) GaugeFunc(name, help string, f func() float64) {
	r.register(name, nil, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Histogram counts observations in cumulative buckets per label tuple, and
// keeps their sum and count.
type Histogram struct {
	vec[prometheus.Observer, *prometheus.HistogramVec]
}

// Histogram registers a histogram with the given bucket upper bounds, which
// must be strictly increasing; the +Inf bucket is implicit. Without bounds
// it has the library's default buckets (prometheus.DefBuckets).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	check(name, labels)
	for i, b := range buckets {
		if math.IsNaN(b) || (i > 0 && b <= buckets[i-1]) {
			panic(fmt.Sprintf("metrics: buckets of %s are not strictly increasing: %v", name, buckets))
		}
	}
	if slices.Contains(labels, "le") {
		panic(fmt.Sprintf("metrics: histogram %s uses the reserved label le", name))
	}
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: slices.Clone(buckets)}, labels)
	return &Histogram{newVec(r, name, labels, v)}
}

// ExponentialBuckets returns n bucket bounds starting at start, each factor
// times the one before.
func ExponentialBuckets(start, factor float64, n int) []float64 {
	if start <= 0 || factor <= 1 || n < 1 {
		panic(fmt.Sprintf("metrics: invalid exponential buckets (%v, %v, %d)", start, factor, n))
	}
	return prometheus.ExponentialBuckets(start, factor, n)
}

// Observe records v in the series of the label values.
func (h *Histogram) Observe(v float64, values ...string) {
	if h == nil {
		return
	}
	h.series(values).Observe(v)
}

// Count returns how many values the series of the label values observed.
func (h *Histogram) Count(values ...string) uint64 {
	if h == nil {
		return 0
	}
	return h.find(values).GetHistogram().GetSampleCount()
}

// WriteText gathers every metric and writes it in the text exposition
// format, sorted by name.
func (r *Registry) WriteText(w io.Writer) error {
	mfs, err := r.reg.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// Handler returns an HTTP handler that serves the metrics, negotiating the
// format with the scraper's Accept header. A metric that cannot be
// gathered is left out and the others are served.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      r.reg, // counts its own errors in promhttp_metric_handler_errors_total
	})
}
