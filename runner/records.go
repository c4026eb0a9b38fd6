package runner

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// Locks are the project locks the flows take and release: a PR holds a
// project from its plan until it is merged, closed or unlocked.
type Locks interface {
	AcquireLock(ctx context.Context, l store.Lock) (holder store.Lock, acquired bool, err error)
	Locks(ctx context.Context, repo string) ([]store.Lock, error)
	ReleaseLock(ctx context.Context, repo, dir, workspace string, pr int) (bool, error)
	ReleasePR(ctx context.Context, repo string, pr int) ([]store.Lock, error)
}

// Plans are the saved plans of the projects of PRs.
type Plans interface {
	SavePlan(ctx context.Context, p store.Plan) (int64, error)
	Plans(ctx context.Context, repo string, pr int, headSHA string) ([]store.Plan, error)
	LatestPlan(ctx context.Context, repo string, pr int, project string) (*store.Plan, error)
	DeletePlans(ctx context.Context, repo string, pr int) (int, error)
}

// AuditLog is the append-only record of what planbot did and was asked.
type AuditLog interface {
	AppendAudit(ctx context.Context, e audit.Entry) (stored audit.Entry, inserted bool, err error)
	Audit(ctx context.Context, f store.AuditFilter) ([]audit.Entry, error)
}

// Bot tells the login planbot comments as. It is asked when needed, so
// that planbot starts, and stores webhooks, while GitHub is down.
type Bot interface {
	BotLogin(ctx context.Context) (string, error)
}

// appendAudit appends an entry to the audit log. A failure is logged: the
// work it records already happened.
func appendAudit(ctx context.Context, l AuditLog, log *slog.Logger, e audit.Entry) {
	if _, _, err := l.AppendAudit(ctx, e); err != nil {
		log.Error("append audit entry", "action", e.Action, "err", err)
	}
}

// savedResult decodes the result saved plan p was stored with.
func savedResult(p store.Plan) (planbot.Result, error) {
	var res planbot.Result
	err := json.Unmarshal(p.Result, &res)
	return res, err
}

// withResult returns p storing res: its result JSON and its status
// column always agree.
func withResult(p store.Plan, res planbot.Result) store.Plan {
	p.Result, _ = json.Marshal(res)
	p.Status = string(res.Status)
	return p
}

// storedResults returns the saved results of every project planned at the
// PR's head.
func storedResults(ctx context.Context, plans Plans, pr planbot.PullRequest, log *slog.Logger) []planbot.Result {
	saved, err := plans.Plans(ctx, pr.Repo.String(), pr.Number, pr.HeadSHA)
	if err != nil {
		log.Warn("read saved plans", "repo", pr.Repo.String(), "pr", pr.Number, "err", err)
		return nil
	}
	var results []planbot.Result
	for _, pl := range saved {
		if r, err := savedResult(pl); err == nil {
			results = append(results, r)
		}
	}
	return results
}
