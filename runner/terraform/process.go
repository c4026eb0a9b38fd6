package terraform

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// DefaultKillGrace is how long terraform has to exit after an interrupt
// when Runner.KillGrace is zero.
const DefaultKillGrace = 10 * time.Second

// signalGroups sends sig to each process group in pgids.
func signalGroups(pgids []int, sig syscall.Signal) {
	for _, pg := range pgids {
		if pg > 0 {
			_ = syscall.Kill(-pg, sig) // ESRCH: the group is gone already.
		}
	}
}

// watchGroups ends the process groups that find returns once ctx is done:
// it interrupts them (terraform then releases its state lock and stops
// its providers), and kills them grace later if they are still running.
// Calling the returned stop function ends the watch; it kills any group
// that was interrupted, in case its leader exited but others did not,
// and then returns. If find returns no group, fallback is called so that
// the caller's own cancellation takes over.
func watchGroups(ctx context.Context, grace time.Duration, find func() []int, fallback func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan []int, 1)
	go func() {
		select {
		case <-done:
			finished <- nil
			return
		case <-ctx.Done():
		}
		pgids := find()
		if len(pgids) == 0 {
			fallback()
			finished <- nil
			return
		}
		signalGroups(pgids, syscall.SIGINT)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			signalGroups(pgids, syscall.SIGKILL)
			fallback()
		}
		finished <- pgids
	}()
	return func() {
		close(done)
		signalGroups(<-finished, syscall.SIGKILL)
	}
}

// runCommand runs cmd, which planbot built itself, in its own process
// group, and ends the group as watchGroups does when ctx is done. cmd must
// not have been started. It returns cmd.Wait's error, or ctx's error when
// ctx ended first.
func runCommand(ctx context.Context, cmd *exec.Cmd, grace time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd.SysProcAttr = sysProcAttr()
	// WaitDelay bounds how long Wait waits for the output pipes once the
	// process is gone.
	cmd.WaitDelay = grace
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	stop := watchGroups(ctx, grace, func() []int { return []int{pid} }, func() {})
	err := cmd.Wait()
	stop()
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}
