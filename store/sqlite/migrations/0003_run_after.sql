-- run_after holds back a job that failed and waits for its retry: a queued
-- job is not claimable before it. NULL when the job is claimable at once.
-- A waiting job still blocks the newer jobs of its key.
ALTER TABLE jobs ADD COLUMN run_after INTEGER;
