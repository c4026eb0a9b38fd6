-- job_logs holds the live output of running jobs, in chunks of whole,
-- masked lines, so that the web page of any replica can follow a run.
-- The row with done = 1 is a run's last; its text tells the outcome.
CREATE TABLE job_logs (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	repo       TEXT    NOT NULL,
	pr         INTEGER NOT NULL,
	run        TEXT    NOT NULL,
	project    TEXT    NOT NULL,
	text       TEXT    NOT NULL,
	done       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX job_logs_run ON job_logs (repo, pr, run, id);
CREATE INDEX job_logs_created ON job_logs (created_at);
