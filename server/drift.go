package server

import (
	"context"
	"fmt"
	"os"

	"github.com/planbot/planbot/drift"
	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/runner"
)

// DriftPass runs one drift pass now with the server's options, the one
// `planbot drift` runs: the same detector as the scheduled passes, so it
// writes the same issues and audit entries, claimed in the store as they
// are (drift.Once), so it never overlaps one. It returns
// drift.ErrPassRunning while another pass runs.
func (m *Main) DriftPass(ctx context.Context, w drift.Window) ([]drift.Summary, error) {
	sec, log, err := m.secure()
	if err != nil {
		return nil, err
	}
	if err := m.openStore(ctx, log); err != nil {
		return nil, err
	}
	reg := metrics.New()
	app, _, err := m.connectGitHub(ctx, sec, githubapp.NewCalls(reg), log)
	if err != nil {
		return nil, err
	}
	_, detector, err := m.flows(ctx, sec, app, runner.NewMetrics(reg), log)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/drift-command", host, os.Getpid())
	var sums []drift.Summary
	err = drift.Once(ctx, m.store, owner, m.Options.JobLease, nil, log, w, func(ctx context.Context, w drift.Window) error {
		var err error
		sums, err = detector.Pass(ctx, w)
		return err
	})
	return sums, err
}
