// Package livelog keeps the live output of running jobs: what terraform
// prints while a plan or an apply runs is cut into whole lines, masked
// with the redaction of comments (package redact) and appended to the
// store, chunk by chunk, as it comes. The store is the only channel, so a
// page served by any replica can follow a run that another replica runs
// (see Follow).
//
// A run is one job's plan or apply, named by its delivery ID. It has one
// Writer per project, and ends with one End chunk that tells its outcome.
package livelog

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/planbot/planbot/redact"
	"github.com/planbot/planbot/store"
)

// Appender stores chunks.
type Appender interface {
	AppendLog(ctx context.Context, c store.LogChunk) (int64, error)
}

// Log writes the live logs of runs.
type Log struct {
	Store Appender
	// Secrets are masked in every line, as in comments.
	Secrets []string
	Logger  *slog.Logger
}

// maxPartial bounds the unfinished line a Writer keeps: a longer one is
// stored as it is.
const maxPartial = 64 << 10

// Writer returns the writer of project's output in a run of PR pr of
// repo. Each Write stores the whole lines received so far; Close stores
// the rest. It is safe for concurrent use, never fails, and logs a chunk
// it cannot store: a live log never stops terraform.
func (l *Log) Writer(ctx context.Context, repo string, pr int, run, project string) io.WriteCloser {
	w := &writer{}
	w.store = func(text string) {
		c := store.LogChunk{Repo: repo, PR: pr, Run: run, Project: project, Text: redact.String(text, l.Secrets)}
		if _, err := l.Store.AppendLog(ctx, c); err != nil && !w.failed {
			w.failed = true
			l.Logger.Warn("live log: chunk not stored", "repo", repo, "pr", pr, "project", project, "err", err)
		}
	}
	return w
}

// End stores the last chunk of a run, with its outcome.
func (l *Log) End(ctx context.Context, repo string, pr int, run, outcome string) {
	c := store.LogChunk{Repo: repo, PR: pr, Run: run, Text: redact.String(outcome, l.Secrets), End: true}
	if _, err := l.Store.AppendLog(ctx, c); err != nil {
		l.Logger.Warn("live log: end not stored", "repo", repo, "pr", pr, "err", err)
	}
}

// writer cuts what it receives into whole lines for store.
type writer struct {
	mu      sync.Mutex // mu guards the fields below and serializes store.
	partial strings.Builder
	failed  bool
	store   func(text string)
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial.Write(p)
	s := w.partial.String()
	i := strings.LastIndexByte(s, '\n')
	switch {
	case i >= 0:
		w.partial.Reset()
		w.partial.WriteString(s[i+1:])
		w.store(s[:i+1])
	case len(s) > maxPartial:
		w.partial.Reset()
		w.store(s + "\n")
	}
	return len(p), nil
}

func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.partial.String(); s != "" {
		w.partial.Reset()
		w.store(s + "\n")
	}
	return nil
}
