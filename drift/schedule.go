package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/planbot/planbot/store"
)

// PassName is the name drift passes are claimed under in the store.
const PassName = "drift"

// Lease is where replicas claim scheduled passes (see store.Store).
type Lease interface {
	ClaimPass(ctx context.Context, name string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error)
	ExtendPass(ctx context.Context, name, owner string, leaseUntil time.Time) error
	FinishPass(ctx context.Context, name, owner string, now time.Time) error
	LastPass(ctx context.Context, name string) (store.Pass, error)
}

// ParseSchedule parses --drift-schedule: a 5-field cron expression, or
// "off" (nil, nil).
func ParseSchedule(expr string) (cron.Schedule, error) {
	if expr == "" || expr == "off" {
		return nil, nil
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid drift schedule %q: %w", expr, err)
	}
	return s, nil
}

// Scheduler runs a pass each time Schedule fires, on exactly one replica:
// every replica wakes at the scheduled time (and every Poll after it) and
// claims the pass of the latest scheduled time in the store; the winner
// runs it, renewing its lease, and the others find it claimed. A pass
// whose replica died is claimed again when its lease ends; a pass still
// running when the schedule fires again delays the next one, so passes
// never overlap.
type Scheduler struct {
	Schedule cron.Schedule
	Lease    Lease
	// Pass runs one pass.
	Pass func(ctx context.Context, w Window) error
	// Owner names this replica in the store; empty means host/pid/start.
	Owner string
	// LeaseTTL is how long a pass stays with a replica that stopped
	// renewing it; zero means one minute.
	LeaseTTL time.Duration
	// Poll is how often a replica looks for a pass to take over; zero
	// means LeaseTTL/2.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

func (s *Scheduler) now() time.Time { return clockNow(s.Now) }

// Run schedules passes until ctx ends. It returns nil then.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.LeaseTTL <= 0 {
		s.LeaseTTL = time.Minute
	}
	if s.Poll <= 0 {
		s.Poll = s.LeaseTTL / 2
	}
	if s.Owner == "" {
		host, _ := os.Hostname()
		s.Owner = fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
	}
	next := s.Schedule.Next(s.now())
	var due time.Time
	for {
		wait := min(s.Poll, time.Until(next))
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		now := s.now()
		for !next.After(now) {
			due, next = next, s.Schedule.Next(next)
		}
		if due.IsZero() {
			continue
		}
		if err := s.try(ctx, due); err != nil && ctx.Err() == nil {
			s.Logger.Error("drift pass", "slot", due, "err", err)
		}
	}
}

// try claims the pass of slot and runs it when this replica wins.
func (s *Scheduler) try(ctx context.Context, slot time.Time) error {
	var from time.Time
	if last, err := s.Lease.LastPass(ctx, PassName); err == nil && last.Slot.Before(slot) {
		from = last.Slot
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := s.now()
	ok, err := s.Lease.ClaimPass(ctx, PassName, slot, s.Owner, now, now.Add(s.LeaseTTL))
	if err != nil || !ok {
		return err
	}
	log := s.Logger.With("slot", slot.UTC().Format(time.RFC3339), "owner", s.Owner)
	log.Info("drift pass claimed")
	return runClaimed(ctx, s.Lease, s.Owner, s.LeaseTTL, s.now, log, func(ctx context.Context) error {
		return s.Pass(ctx, Window{ID: slot.UTC().Format(time.RFC3339), From: from, To: slot})
	})
}

// ErrPassRunning reports that another pass holds the store's lease.
var ErrPassRunning = errors.New("another drift pass is running")

// Once runs one pass now, outside the schedule, claimed in the store as a
// scheduled pass is: it never overlaps a pass another process runs (then it
// returns ErrPassRunning), and scheduled passes wait for it. The pass
// checks every enabled project of w's repositories, whatever their own
// schedules; w.ID and w.To are set to now.
func Once(ctx context.Context, lease Lease, owner string, ttl time.Duration, now func() time.Time, logger *slog.Logger, w Window, pass func(ctx context.Context, w Window) error) error {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = time.Minute
	}
	t := now()
	ok, err := lease.ClaimPass(ctx, PassName, t, owner, t, t.Add(ttl))
	if err != nil {
		return err
	}
	if !ok {
		return ErrPassRunning
	}
	w.ID, w.From, w.To = "manual:"+t.UTC().Format(time.RFC3339), time.Time{}, t
	log := logger.With("pass", w.ID, "owner", owner)
	log.Info("drift pass claimed")
	return runClaimed(ctx, lease, owner, ttl, now, log, func(ctx context.Context) error { return pass(ctx, w) })
}

// runClaimed runs pass under the lease owner holds, renewing it every
// third of ttl and stopping the pass if the lease is lost, and marks the
// pass finished when it succeeds.
func runClaimed(ctx context.Context, lease Lease, owner string, ttl time.Duration, now func() time.Time, log *slog.Logger, pass func(ctx context.Context) error) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
				if err := lease.ExtendPass(pctx, PassName, owner, now().Add(ttl)); err != nil && pctx.Err() == nil {
					log.Error("drift pass lease lost; stopping the pass", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	err := pass(pctx)
	cancel()
	<-renewed
	if err != nil {
		return err
	}
	return lease.FinishPass(context.WithoutCancel(ctx), PassName, owner, now())
}
