package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
	"github.com/planbot/planbot/store/sqlite/sqlitetest"
)

func TestQueueMetrics(t *testing.T) {
	st := sqlitetest.New(t)
	m := NewMetrics(metrics.New())
	q := &Queue{Jobs: st, Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 2, Metrics: m,
		Backoff: func(int) time.Duration { return 0 },
		Handle: func(ctx context.Context, j store.Job) error {
			if j.DeliveryID == "fails" {
				return errors.New("boom")
			}
			return nil
		}}
	enqueue(t, st, "ok", "a#1")
	enqueue(t, st, "fails", "a#2")
	stop := startQueue(q)
	waitState(t, st, "ok", store.JobDone)
	waitState(t, st, "fails", store.JobFailed)
	stop()

	got := map[string]float64{}
	for _, r := range []string{JobDone, JobRetried, JobFailed, JobInterrupted} {
		got[r] = m.Jobs.Value("pull_request", r)
	}
	want := map[string]float64{JobDone: 1, JobRetried: 1, JobFailed: 1, JobInterrupted: 0}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("planbot_jobs_total mismatch (-got +want):\n%s", diff)
	}
	if n := m.JobDuration.Count("pull_request"); n != 3 {
		t.Errorf("job durations observed = %d, want 3", n)
	}
	if r := m.Running.Value(); r != 0 {
		t.Errorf("jobs running after the queue stopped = %v, want 0", r)
	}
}

func TestPlannedMetrics(t *testing.T) {
	tests := []struct {
		name         string
		res          planbot.Result
		wantKind     string
		wantStatus   string
		wantDuration uint64
	}{
		{name: "terraform planned", res: planbot.Result{Project: planbot.Project{Kind: planbot.KindTerraform}, Status: planbot.StatusPlanned, Duration: 3 * time.Second},
			wantKind: "terraform", wantStatus: "planned", wantDuration: 1},
		{name: "kustomize failed", res: planbot.Result{Project: planbot.Project{Kind: planbot.KindKustomize}, Status: planbot.StatusFailed, Duration: time.Millisecond},
			wantKind: "kustomize", wantStatus: "failed", wantDuration: 1},
		{name: "locked never ran", res: planbot.Result{Project: planbot.Project{Kind: planbot.KindTerraform}, Status: planbot.StatusLocked},
			wantKind: "terraform", wantStatus: "locked", wantDuration: 0},
		{name: "kind unset is terraform", res: planbot.Result{Status: planbot.StatusNoChange, Duration: time.Second},
			wantKind: "terraform", wantStatus: string(planbot.StatusNoChange), wantDuration: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(metrics.New())
			m.planned(tt.res)
			if got := m.Plans.Value(tt.wantKind, tt.wantStatus); got != 1 {
				t.Errorf("plans{kind=%q,status=%q} = %v, want 1", tt.wantKind, tt.wantStatus, got)
			}
			if got := m.PlanDuration.Count(tt.wantKind); got != tt.wantDuration {
				t.Errorf("plan durations observed = %d, want %d", got, tt.wantDuration)
			}
		})
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.jobStarted()
	m.jobFinished("pull_request", JobDone, time.Second)
	m.planned(planbot.Result{Status: planbot.StatusPlanned})
	m.applied("applied")
	m.merged("merged")
	m.counted(store.JobCounts{Queued: 1})
}
