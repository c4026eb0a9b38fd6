// Package metrics keeps planbot's counters, histograms and gauges in memory
// and writes them in the Prometheus text exposition format, version 0.0.4.
//
// A Registry owns a set of metrics, each registered once under a unique
// name with a fixed list of label names. A metric holds one series per
// distinct tuple of label values; the values are given, in the order of the
// label names, on every update. Registering a name twice, or updating a
// metric with the wrong number of label values, is a programming error and
// panics.
//
// Updates take the metric's own mutex, so metrics are safe for concurrent
// use. The methods of a nil *Counter, *Gauge or *Histogram do nothing, so a
// component whose metric field is unset records nothing.
//
// WriteText writes the metrics sorted by name, and each metric's series
// sorted by their label values, so the output of a registry is
// deterministic.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// validName reports whether s is a valid metric name (colons allowed) or
// label name (colons not allowed).
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

// metric is one registered metric.
type metric interface {
	write(w *bufio.Writer)
}

// Registry is a set of metrics.
type Registry struct {
	// mu guards the field below.
	mu      sync.Mutex
	metrics map[string]metric
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{metrics: map[string]metric{}}
}

func (r *Registry) register(name string, labels []string, m metric) {
	if !validName(name, true) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if !validName(l, false) || strings.HasPrefix(l, "__") || l == "le" || seen[l] {
			panic(fmt.Sprintf("metrics: invalid or repeated label name %q of %s", l, name))
		}
		seen[l] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.metrics[name]; ok {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	r.metrics[name] = m
}

// desc is what every metric has: its name, help, type and label names.
type desc struct {
	name, help, typ string
	labels          []string
}

func (d *desc) header(w *bufio.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", d.name, escapeHelp(d.help), d.name, d.typ)
}

// key returns the map key of a tuple of label values, after checking
// their number.
func (d *desc) key(values []string) string {
	if len(values) != len(d.labels) {
		panic(fmt.Sprintf("metrics: %s has labels %q, got %d values %q", d.name, d.labels, len(values), values))
	}
	var b strings.Builder
	for _, v := range values {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// labelPairs renders the labels of a series, with extra pairs (such as le)
// appended, in braces; "" when there are none.
func (d *desc) labelPairs(values []string, extra ...string) string {
	if len(d.labels) == 0 && len(extra) == 0 {
		return ""
	}
	type pair struct{ k, v string }
	ps := make([]pair, 0, len(d.labels)+len(extra)/2)
	for i, l := range d.labels {
		ps = append(ps, pair{l, values[i]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	for i := 0; i+1 < len(extra); i += 2 {
		ps = append(ps, pair{extra[i], extra[i+1]})
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.k)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(p.v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// series is the state of one label tuple of a metric.
type series[V any] struct {
	values []string
	v      V
}

// get returns the series of the label values in m, creating it.
func get[V any](d *desc, m map[string]*series[V], values []string) *series[V] {
	k := d.key(values)
	s := m[k]
	if s == nil {
		s = &series[V]{values: slices.Clone(values)}
		m[k] = s
	}
	return s
}

// sorted returns the series of m ordered by their label values.
func sorted[V any](m map[string]*series[V]) []*series[V] {
	out := make([]*series[V], 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *series[V]) int { return slices.Compare(a.values, b.values) })
	return out
}

// Counter is a monotonically increasing value per label tuple.
type Counter struct {
	desc
	// mu guards the field below.
	mu     sync.Mutex
	series map[string]*series[float64]
}

// Counter registers a counter. By convention its name ends in _total.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	c := &Counter{desc: desc{name: name, help: help, typ: "counter", labels: labels}, series: map[string]*series[float64]{}}
	r.register(name, labels, c)
	if len(labels) == 0 {
		get(&c.desc, c.series, nil) // a metric without labels always has its sample
	}
	return c
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
	c.key(values) // check before locking
	c.mu.Lock()
	defer c.mu.Unlock()
	get(&c.desc, c.series, values).v += v
}

// Value returns the current value of the series of the label values.
func (c *Counter) Value(values ...string) float64 {
	if c == nil {
		return 0
	}
	k := c.key(values)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.series[k]; s != nil {
		return s.v
	}
	return 0
}

func (c *Counter) write(w *bufio.Writer) {
	c.header(w)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range sorted(c.series) {
		fmt.Fprintf(w, "%s%s %s\n", c.name, c.labelPairs(s.values), formatFloat(s.v))
	}
}

// Gauge is a value per label tuple that goes up and down.
type Gauge struct {
	desc
	// mu guards the field below.
	mu     sync.Mutex
	series map[string]*series[float64]
}

// Gauge registers a gauge.
func (r *Registry) Gauge(name, help string, labels ...string) *Gauge {
	g := &Gauge{desc: desc{name: name, help: help, typ: "gauge", labels: labels}, series: map[string]*series[float64]{}}
	r.register(name, labels, g)
	if len(labels) == 0 {
		get(&g.desc, g.series, nil)
	}
	return g
}

// Set sets the series of the label values to v.
func (g *Gauge) Set(v float64, values ...string) {
	if g == nil {
		return
	}
	g.key(values)
	g.mu.Lock()
	defer g.mu.Unlock()
	get(&g.desc, g.series, values).v = v
}

// Add adds v, which may be negative, to the series of the label values.
func (g *Gauge) Add(v float64, values ...string) {
	if g == nil {
		return
	}
	g.key(values)
	g.mu.Lock()
	defer g.mu.Unlock()
	get(&g.desc, g.series, values).v += v
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
	k := g.key(values)
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.series[k]; s != nil {
		return s.v
	}
	return 0
}

func (g *Gauge) write(w *bufio.Writer) {
	g.header(w)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range sorted(g.series) {
		fmt.Fprintf(w, "%s%s %s\n", g.name, g.labelPairs(s.values), formatFloat(s.v))
	}
}

// gaugeFunc is a gauge without labels whose value is read when written.
type gaugeFunc struct {
	desc
	f func() float64
}

// GaugeFunc registers a gauge without labels whose value f returns each
// time the metrics are written. f must be safe for concurrent use.
func (r *Registry) GaugeFunc(name, help string, f func() float64) {
	r.register(name, nil, &gaugeFunc{desc: desc{name: name, help: help, typ: "gauge"}, f: f})
}

func (g *gaugeFunc) write(w *bufio.Writer) {
	g.header(w)
	fmt.Fprintf(w, "%s %s\n", g.name, formatFloat(g.f()))
}

// Histogram counts observations in cumulative buckets per label tuple, and
// keeps their sum and count.
type Histogram struct {
	desc
	buckets []float64 // sorted upper bounds, without +Inf
	// mu guards the field below.
	mu     sync.Mutex
	series map[string]*series[*histogram]
}

// histogram is one series of a Histogram.
type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

// Histogram registers a histogram with the given bucket upper bounds, which
// must be strictly increasing; the +Inf bucket is implicit.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	for i, b := range buckets {
		if math.IsNaN(b) || (i > 0 && b <= buckets[i-1]) {
			panic(fmt.Sprintf("metrics: buckets of %s are not strictly increasing: %v", name, buckets))
		}
	}
	if n := len(buckets); n > 0 && math.IsInf(buckets[n-1], +1) {
		buckets = buckets[:n-1]
	}
	h := &Histogram{
		desc:    desc{name: name, help: help, typ: "histogram", labels: labels},
		buckets: slices.Clone(buckets), series: map[string]*series[*histogram]{},
	}
	r.register(name, labels, h)
	if len(labels) == 0 {
		get(&h.desc, h.series, nil).v = h.newSeries()
	}
	return h
}

func (h *Histogram) newSeries() *histogram {
	return &histogram{counts: make([]uint64, len(h.buckets)+1)}
}

// ExponentialBuckets returns n bucket bounds starting at start, each factor
// times the one before.
func ExponentialBuckets(start, factor float64, n int) []float64 {
	if start <= 0 || factor <= 1 || n < 1 {
		panic(fmt.Sprintf("metrics: invalid exponential buckets (%v, %v, %d)", start, factor, n))
	}
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// Observe records v in the series of the label values.
func (h *Histogram) Observe(v float64, values ...string) {
	if h == nil {
		return
	}
	h.key(values)
	i := sort.SearchFloat64s(h.buckets, v) // the first bound >= v
	h.mu.Lock()
	defer h.mu.Unlock()
	s := get(&h.desc, h.series, values)
	if s.v == nil {
		s.v = h.newSeries()
	}
	s.v.counts[i]++
	s.v.sum += v
	s.v.count++
}

// Count returns how many values the series of the label values observed.
func (h *Histogram) Count(values ...string) uint64 {
	if h == nil {
		return 0
	}
	k := h.key(values)
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.series[k]; s != nil {
		return s.v.count
	}
	return 0
}

func (h *Histogram) write(w *bufio.Writer) {
	h.header(w)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range sorted(h.series) {
		var cum uint64
		for i, c := range s.v.counts {
			cum += c
			le := "+Inf"
			if i < len(h.buckets) {
				le = formatFloat(h.buckets[i])
			}
			fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, h.labelPairs(s.values, "le", le), cum)
		}
		labels := h.labelPairs(s.values)
		fmt.Fprintf(w, "%s_sum%s %s\n", h.name, labels, formatFloat(s.v.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", h.name, labels, s.v.count)
	}
}

// WriteText writes every metric in the text exposition format, sorted by
// name.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	names := make([]string, 0, len(r.metrics))
	for n := range r.metrics {
		names = append(names, n)
	}
	ms := make([]metric, 0, len(names))
	slices.Sort(names)
	for _, n := range names {
		ms = append(ms, r.metrics[n])
	}
	r.mu.Unlock()
	bw := bufio.NewWriter(w)
	for _, m := range ms {
		m.write(bw)
	}
	return bw.Flush()
}

// Handler returns an HTTP handler that serves the metrics.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		if req.Method == http.MethodHead {
			return
		}
		// A write error means the scraper went away; there is no one to
		// tell.
		_ = r.WriteText(w)
	})
}

// formatFloat formats a sample value as Prometheus expects, including
// +Inf, -Inf and NaN.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// escapeLabel escapes a label value: backslash, double quote and line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
