-- finished_at records when a job ended done or failed for good; NULL while
-- it is queued or running, and for jobs that ended before this migration
-- (pruning counts those as finished at created_at). The index serves
-- PruneJobs.
ALTER TABLE jobs ADD COLUMN finished_at TIMESTAMPTZ;
CREATE INDEX jobs_finished ON jobs ((coalesce(finished_at, created_at))) WHERE state IN ('done', 'failed');
