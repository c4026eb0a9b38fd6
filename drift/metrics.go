package drift

import (
	"time"

	"github.com/planbot/planbot/metrics"
)

// Metrics are the drift passes' Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	// Drifting is the number of projects of a repository that drift or
	// fail to plan, as the last pass found.
	Drifting *metrics.Gauge
	// PassDuration observes how long passes took.
	PassDuration *metrics.Histogram
	// LastPass is when the last pass of this process finished, in Unix
	// seconds.
	LastPass *metrics.Gauge
}

// NewMetrics registers the drift metrics in r.
func NewMetrics(r *metrics.Registry) *Metrics {
	return &Metrics{
		Drifting: r.Gauge("planbot_drift_projects", "Projects that drift or fail to plan, by repository, as the last pass found.", "repo"),
		PassDuration: r.Histogram("planbot_drift_pass_duration_seconds", "How long drift passes took.",
			metrics.ExponentialBuckets(1, 2.5, 12)),
		LastPass: r.Gauge("planbot_drift_last_pass_timestamp_seconds", "When this process last finished a drift pass, in Unix seconds."),
	}
}

func (m *Metrics) pass(start, end time.Time) {
	if m == nil {
		return
	}
	m.PassDuration.Observe(end.Sub(start).Seconds())
	m.LastPass.Set(float64(end.Unix()))
}

func (m *Metrics) drifting(repo string, n int) {
	if m == nil {
		return
	}
	m.Drifting.Set(float64(n), repo)
}
