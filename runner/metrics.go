package runner

import (
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
)

// Metrics are the runner's Prometheus metrics. A nil *Metrics records
// nothing, so a Queue, Planner or Applier without one works unchanged.
type Metrics struct {
	// Jobs counts finished job runs by event and result: done, failed
	// (out of attempts), retried (failed, to run again after a backoff),
	// postponed (rate-limited by GitHub, to run again when the limit
	// ends, the attempt not counted) or interrupted (cut by shutdown, to
	// run again).
	Jobs *metrics.Counter
	// JobDuration observes how long job runs took, by event.
	JobDuration *metrics.Histogram
	// Running is the number of jobs running in this process.
	Running *metrics.Gauge
	// QueueDepth is the number of jobs waiting in the store, across
	// replicas (see Depth).
	QueueDepth *metrics.Gauge
	// InFlight is the number of jobs running on a live lease, across
	// replicas (see Depth).
	InFlight *metrics.Gauge
	// Plans counts planned projects by kind and status.
	Plans *metrics.Counter
	// PlanDuration observes how long project plans took, by kind.
	PlanDuration *metrics.Histogram
	// Applies counts project applies by result (applied, failed,
	// dry_run, interrupted) and refused /apply commands (refused).
	Applies *metrics.Counter
	// Merges counts merges after an apply by result (merged, failed,
	// dry_run, aborted).
	Merges *metrics.Counter
}

// Job results, as counted by planbot_jobs_total.
const (
	JobDone        = "done"
	JobFailed      = "failed"
	JobRetried     = "retried"
	JobPostponed   = "postponed"
	JobInterrupted = "interrupted"
)

// NewMetrics registers the runner's metrics in r.
func NewMetrics(r *metrics.Registry) *Metrics {
	// From 0.1s to about 40 minutes, each bucket 2.5 times the last; a
	// job is cut at the 30-minute default timeout.
	durations := metrics.ExponentialBuckets(0.1, 2.5, 15)
	return &Metrics{
		Jobs: r.Counter("planbot_jobs_total",
			"Job runs finished, by event and result (done, failed, retried, postponed, interrupted).", "event", "result"),
		JobDuration: r.Histogram("planbot_job_duration_seconds",
			"How long job runs took, by event.", durations, "event"),
		Running: r.Gauge("planbot_jobs_running", "Jobs running in this process."),
		QueueDepth: r.Gauge("planbot_queue_depth",
			"Jobs waiting to run, across replicas: queued, waiting for a retry or a rate limit's end, or on an expired lease."),
		InFlight: r.Gauge("planbot_jobs_in_flight",
			"Jobs running on a live lease, across replicas."),
		Plans: r.Counter("planbot_project_plans_total",
			"Projects planned, by kind (terraform, kustomize) and status.", "kind", "status"),
		PlanDuration: r.Histogram("planbot_project_plan_duration_seconds",
			"How long project plans took, by kind.", durations, "kind"),
		Applies: r.Counter("planbot_applies_total",
			"Project applies by result (applied, failed, dry_run, interrupted), and refused /apply commands (refused).", "result"),
		Merges: r.Counter("planbot_merges_total",
			"Pull request merges after an apply, by result (merged, failed, dry_run, aborted).", "result"),
	}
}

// jobStarted records a job that starts running.
func (m *Metrics) jobStarted() {
	if m != nil {
		m.Running.Inc()
	}
}

// jobFinished records how a job run ended.
func (m *Metrics) jobFinished(event, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.Running.Dec()
	m.Jobs.Inc(event, result)
	m.JobDuration.Observe(d.Seconds(), event)
}

// planned records a project's plan. A plan that never ran (the project was
// locked, or the lock could not be taken) is counted without a duration.
func (m *Metrics) planned(res planbot.Result) {
	if m == nil {
		return
	}
	kind := string(res.Project.Kind)
	if kind == "" {
		kind = string(planbot.KindTerraform)
	}
	m.Plans.Inc(kind, string(res.Status))
	if res.Duration > 0 {
		m.PlanDuration.Observe(res.Duration.Seconds(), kind)
	}
}

// counted records the store's count of unfinished jobs.
func (m *Metrics) counted(c store.JobCounts) {
	if m == nil {
		return
	}
	m.QueueDepth.Set(float64(c.Queued))
	m.InFlight.Set(float64(c.Running))
}

// applied records an apply result: applied, failed, dry_run, interrupted
// or refused.
func (m *Metrics) applied(result string) {
	if m != nil {
		m.Applies.Inc(result)
	}
}

// merged records a merge result: merged, failed, dry_run or aborted.
func (m *Metrics) merged(result string) {
	if m != nil {
		m.Merges.Inc(result)
	}
}
