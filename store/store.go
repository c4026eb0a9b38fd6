// Package store defines planbot's storage contract: the durable queue of
// webhook deliveries, project locks, saved plans and the audit log. Two
// backends implement it, store/sqlite (the default, one machine) and
// store/postgres (several replicas), and both pass the conformance suite in
// store/storetest.
//
// The model: every webhook delivery is stored once, keyed by its
// X-GitHub-Delivery ID, and is itself the queued job. Workers claim jobs with
// a lease; a job whose lease expires (its worker died) is claimed again. Jobs
// with the same Key (one PR) never run concurrently, so two replicas never
// work on the same PR at once. A job that failed with attempts left goes
// back to the queue to wait for its retry: it is not claimable before its
// RunAfter, and while it waits the newer jobs of its Key wait behind it, so
// a Key's jobs still run in the order they arrived. A postponed job waits
// the same way, but its attempt is not counted.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/planbot/planbot/audit"
)

// ErrNotFound is returned (wrapped) when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is a stored webhook delivery waiting to be, being, or having been
// processed.
type Job struct {
	ID         int64
	DeliveryID string
	Event      string // X-GitHub-Event
	Payload    []byte // the raw, signature-checked body
	// Key serializes work: at most one job per Key runs at a time
	// ("owner/repo#12" for a PR, "" for none).
	Key        string
	State      string
	Attempts   int
	Owner      string    // worker that holds the lease
	LeaseUntil time.Time // when the lease expires
	// RunAfter is when a queued job waiting for its retry becomes
	// claimable; zero when it is claimable at once.
	RunAfter  time.Time
	LastError string
	CreatedAt time.Time
	// FinishedAt is when the job ended done or failed for good; zero while
	// it is queued or running, and for jobs that ended before planbot
	// recorded it (PruneJobs counts those as finished at CreatedAt).
	FinishedAt time.Time
	// Result is what the job produced for whoever waits for it (the JSON
	// answer of an API release), nil when it recorded none.
	Result []byte
}

// Lock is a project lock: one PR holds (Repo, Dir, Workspace).
type Lock struct {
	Repo      string
	Dir       string
	Workspace string
	PR        int
	HeadSHA   string
	User      string
	CreatedAt time.Time
}

// Plan is a saved plan of one project at one head SHA.
type Plan struct {
	ID        int64
	Repo      string
	PR        int
	HeadSHA   string
	BaseSHA   string
	Project   string // project name
	Dir       string
	Workspace string
	Kind      string
	// Status is a planbot.Status value.
	Status string
	// PlanFile is the saved plan's path and PlanSHA256 its digest.
	PlanFile   string
	PlanSHA256 string
	// PlanData is the saved plan file's content, so that any replica can
	// apply it; nil for kustomize projects and failed plans. An empty
	// PlanData is stored as none and comes back nil.
	PlanData []byte
	// Result is the JSON of the redacted planbot.Result.
	Result    []byte
	CreatedAt time.Time
}

// JobCounts are the unfinished jobs at a moment.
type JobCounts struct {
	// Queued counts the jobs waiting to run: queued, including those
	// waiting for a retry or for a rate limit to end, and running on a
	// lease that expired (their worker died).
	Queued int
	// Running counts the jobs a worker holds on a live lease.
	Running int
}

// CommentPart is one comment of a pull request's plan comment, which
// planbot splits into parts when it outgrows GitHub's comment limit.
type CommentPart struct {
	// Part is the 1-based part number.
	Part int
	// ID is GitHub's id of the comment.
	ID int64
	// BodySHA256 is the hex sha256 of the body planbot last wrote to it.
	BodySHA256 string
}

// Pass is the latest run of a scheduled pass.
type Pass struct {
	Name string
	// Slot is the scheduled time the pass runs for.
	Slot       time.Time
	Owner      string
	LeaseUntil time.Time
	StartedAt  time.Time
	// FinishedAt is zero while the pass runs (or its replica died).
	FinishedAt time.Time
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Repo  string
	PR    int
	Since time.Time
}

// Store is the storage contract. Every method is safe for concurrent use by
// several goroutines and, for PostgreSQL, by several processes.
type Store interface {
	// EnqueueDelivery stores a delivery as a queued job. It reports false,
	// and changes nothing, when a job with the same DeliveryID exists.
	EnqueueDelivery(ctx context.Context, j Job) (inserted bool, err error)
	// Claim leases the oldest claimable job to owner until leaseUntil. A
	// job is claimable when it is queued with a RunAfter not after now, or
	// running with an expired lease, and no other job with the same
	// non-empty Key holds a live lease or is older and still queued or
	// running (waiting for its retry or not). The claimed job's RunAfter is
	// cleared. It returns (nil, nil) when nothing is claimable.
	Claim(ctx context.Context, owner string, now, leaseUntil time.Time) (*Job, error)
	// Extend renews the lease of a job owner still holds. It returns an
	// error wrapping ErrNotFound when owner no longer holds it.
	Extend(ctx context.Context, id int64, owner string, leaseUntil time.Time) error
	// Finish marks a job done (errMsg == "") or records errMsg. A failed job
	// with fewer than maxAttempts attempts goes back to the queue, not
	// claimable before retryAt (a zero retryAt: at once); one with
	// maxAttempts attempts is marked failed for good. It returns an error
	// wrapping ErrNotFound when owner does not hold the job.
	Finish(ctx context.Context, id int64, owner, errMsg string, maxAttempts int, retryAt time.Time) error
	// Postpone returns a job that owner holds to the queue, not claimable
	// before runAfter (a zero runAfter: at once), with reason as its
	// LastError, and takes back the attempt its claim counted: the job did
	// not fail, it was told to wait (by GitHub's rate limit), so waiting
	// never uses up its attempts. Jobs of its Key queued after it wait
	// too. It returns an error wrapping ErrNotFound when owner does not
	// hold the job.
	Postpone(ctx context.Context, id int64, owner, reason string, runAfter time.Time) error
	// Job returns a job by delivery ID.
	Job(ctx context.Context, deliveryID string) (*Job, error)
	// SetJobResult records the result of the job of a delivery, for
	// Job to return. It returns an error wrapping ErrNotFound when there
	// is no such job.
	SetJobResult(ctx context.Context, deliveryID string, result []byte) error
	// PruneJobs deletes the jobs that are done or failed and finished
	// before finishedBefore (a job without FinishedAt counts as finished
	// at its CreatedAt), and returns how many it deleted. Queued and
	// running jobs are never deleted. It deletes in small batches, each
	// its own transaction, so a large backlog does not hold a long write
	// lock. A pruned delivery ID is forgotten: EnqueueDelivery accepts it
	// again. Retention must therefore exceed GitHub's 3-day redelivery
	// window, or a redelivered webhook would run a second time.
	PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error)
	// CountJobs counts, across every process sharing the store, the jobs
	// waiting and the jobs running at now (see JobCounts).
	CountJobs(ctx context.Context, now time.Time) (JobCounts, error)

	// AcquireLock takes l for l.PR. It returns the current holder: l itself
	// when acquired or already held by the same PR (HeadSHA and User are
	// updated), or the other PR's lock, with acquired false.
	AcquireLock(ctx context.Context, l Lock) (holder Lock, acquired bool, err error)
	// ReleaseLock releases one lock if pr holds it (pr == 0: whoever holds
	// it). It reports whether a lock was released.
	ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error)
	// ReleasePR releases every lock held by a PR and returns them.
	ReleasePR(ctx context.Context, repo string, pr int) ([]Lock, error)
	// Locks lists the locks of a repository ("" for all).
	Locks(ctx context.Context, repo string) ([]Lock, error)

	// SavePlan stores a plan; a plan for the same (Repo, PR, HeadSHA,
	// Project) replaces the earlier one. It returns the plan's ID.
	SavePlan(ctx context.Context, p Plan) (int64, error)
	// LatestPlan returns the newest plan of a project of a PR, or an error
	// wrapping ErrNotFound.
	LatestPlan(ctx context.Context, repo string, pr int, project string) (*Plan, error)
	// Plans returns the plans of a PR at one head SHA, ordered by project.
	Plans(ctx context.Context, repo string, pr int, headSHA string) ([]Plan, error)
	// DeletePlans deletes every plan of a PR, saved plan files included,
	// and returns how many there were. It is called when the PR closes:
	// the audit log keeps each plan's hash.
	DeletePlans(ctx context.Context, repo string, pr int) (int, error)

	// PlanComment returns the recorded parts of a PR's plan comment,
	// ordered by part; none when nothing is recorded.
	PlanComment(ctx context.Context, repo string, pr int) ([]CommentPart, error)
	// SavePlanComment replaces the recorded parts of a PR's plan comment
	// with parts; no parts forgets them.
	SavePlanComment(ctx context.Context, repo string, pr int, parts []CommentPart) error

	// AppendAudit appends e to the log: it assigns Seq, Time (if zero),
	// PrevHash and Hash, serializing appends so the chain is linear. When an
	// entry with the same idempotency key exists it returns that entry and
	// inserted false.
	AppendAudit(ctx context.Context, e audit.Entry) (stored audit.Entry, inserted bool, err error)
	// Audit returns matching entries in seq order.
	Audit(ctx context.Context, f AuditFilter) ([]audit.Entry, error)

	// ClaimPass leases the scheduled pass called name (such as "drift")
	// to owner until leaseUntil, for the pass scheduled at slot. It
	// reports true when no live lease is held by another owner and either
	// the latest pass started is older than slot and finished or its
	// lease expired (a new pass), or it is the pass of slot, unfinished,
	// with an expired lease (its replica died: the pass is taken over).
	// So each scheduled pass runs once and two passes never overlap.
	ClaimPass(ctx context.Context, name string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error)
	// ExtendPass renews the lease of a pass owner holds. It returns an
	// error wrapping ErrNotFound when owner no longer holds it.
	ExtendPass(ctx context.Context, name, owner string, leaseUntil time.Time) error
	// FinishPass marks the pass owner holds finished at now. It returns
	// an error wrapping ErrNotFound when owner no longer holds it.
	FinishPass(ctx context.Context, name, owner string, now time.Time) error
	// LastPass returns the latest pass started, or an error wrapping
	// ErrNotFound when none has.
	LastPass(ctx context.Context, name string) (Pass, error)

	// OpenPlans returns the newest plan of every project of every PR of
	// repo ("" for all) that has plans (a closed PR's are deleted),
	// ordered by repo, PR and project, without PlanData.
	OpenPlans(ctx context.Context, repo string) ([]Plan, error)
	// PullJobs returns the newest jobs of a Key ("owner/repo#N"), newest
	// first, at most limit, without Payload.
	PullJobs(ctx context.Context, key string, limit int) ([]Job, error)

	// AppendLog appends a chunk to a run's live log and returns its ID.
	AppendLog(ctx context.Context, c LogChunk) (int64, error)
	// Log returns the chunks of a run with an ID above after, in ID order,
	// at most limit.
	Log(ctx context.Context, repo string, pr int, run string, after int64, limit int) ([]LogChunk, error)
	// LogRuns returns the runs of a PR with a live log, newest first, at
	// most limit.
	LogRuns(ctx context.Context, repo string, pr int, limit int) ([]LogRun, error)
	// PruneLogs deletes the chunks written before before, and returns how
	// many it deleted.
	PruneLogs(ctx context.Context, before time.Time) (int, error)

	Close() error
}
