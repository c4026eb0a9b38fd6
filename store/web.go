package store

import "time"

// LogChunk is a piece of the live output of one run of a job: the
// terraform output of its projects, as whole lines already masked, which
// the web page follows while the run goes on, from any replica.
type LogChunk struct {
	// ID orders the chunks of every run; it is assigned by AppendLog.
	ID   int64
	Repo string
	PR   int
	// Run names the run, unique per job (its delivery ID).
	Run string
	// Project is the project whose output Text is; empty for the run's
	// own lines.
	Project string
	Text    string
	// End marks the run's last chunk: Text then tells its outcome.
	End       bool
	CreatedAt time.Time
}

// LogRun is one run with a live log.
type LogRun struct {
	Run       string
	StartedAt time.Time
	// Ended reports whether the run's last chunk was written.
	Ended bool
}
