package web

import (
	"context"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/store"
)

// Plans reads the saved plans of open pull requests.
type Plans interface {
	OpenPlans(ctx context.Context, repo string) ([]store.Plan, error)
}

// Locks reads and releases project locks.
type Locks interface {
	Locks(ctx context.Context, repo string) ([]store.Lock, error)
	ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error)
}

// AuditLog reads the audit log, and records an unlock.
type AuditLog interface {
	Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error)
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, bool, error)
}

// Jobs reads a pull request's jobs.
type Jobs interface {
	PullJobs(ctx context.Context, key string, limit int) ([]store.Job, error)
}

// Logs reads live logs.
type Logs interface {
	Log(ctx context.Context, repo string, pr int, run string, after int64, limit int) ([]store.LogChunk, error)
	LogRuns(ctx context.Context, repo string, pr int, limit int) ([]store.LogRun, error)
}

// Health reads the queue and the drift passes for the health page.
type Health interface {
	CountJobs(ctx context.Context, now time.Time) (store.JobCounts, error)
	LastPass(ctx context.Context, name string) (store.Pass, error)
}

// GitHub is what the page asks GitHub as the App: the pull request, what
// its approval rule decides (codeowners.GitHub), and the comment an
// unlock posts.
type GitHub interface {
	codeowners.GitHub
	PullRequest(ctx context.Context, repo planbot.Repo, number int) (planbot.PullRequest, error)
	ChangedFiles(ctx context.Context, repo planbot.Repo, number int) ([]planbot.ChangedFile, error)
	CreateComment(ctx context.Context, repo planbot.Repo, number int, body string) (planbot.Comment, error)
}
