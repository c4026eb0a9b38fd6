package runner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/checkrun"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/store"
)

// CheckRuns writes check runs. A plan creates one run per project when
// the project starts (in progress) and updates it in place when the plan
// is reported; an apply does the same with the project's apply run.
type CheckRuns interface {
	CreateCheckRun(ctx context.Context, repo planbot.Repo, run checkrun.Run) (int64, error)
	UpdateCheckRun(ctx context.Context, repo planbot.Repo, id int64, run checkrun.Run) error
}

// planChecks are the plan check runs of one plan job, by project name. A
// nil *planChecks writes none (--checks=off). A failure to write a check
// run is logged, never a failure of the plan: the comment and the commit
// statuses are what the plan reports first.
type planChecks struct {
	gh  CheckRuns
	pr  planbot.PullRequest
	log *slog.Logger

	mu  sync.Mutex // mu guards ids.
	ids map[string]int64
}

// newPlanChecks returns the check runs of a plan of pr, nil when on is
// false.
func newPlanChecks(on bool, gh CheckRuns, pr planbot.PullRequest, log *slog.Logger) *planChecks {
	if !on {
		return nil
	}
	return &planChecks{gh: gh, pr: pr, log: log, ids: map[string]int64{}}
}

// start creates the in-progress run of a project that starts planning.
func (c *planChecks) start(ctx context.Context, p planbot.Project) {
	if c == nil {
		return
	}
	id, err := c.gh.CreateCheckRun(ctx, c.pr.Repo, checkrun.Started(c.pr, p))
	if err != nil {
		c.log.Warn("create check run", "project", p.Name, "err", err)
		id = 0 // finish creates it
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[p.Name] = id
}

// finish completes the run of each result this job started, in place, with
// its output, annotations and buttons. A result of a project whose run
// could not be created gets a new, finished one.
func (c *planChecks) finish(ctx context.Context, results []planbot.Result, secrets []string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range results {
		id, ok := c.ids[res.Project.Name]
		if !ok {
			continue // planned by an earlier job (a /plan -p of another project)
		}
		run := checkrun.Plan(c.pr, res, comment.Options{Secrets: secrets})
		var err error
		if id != 0 {
			err = c.gh.UpdateCheckRun(ctx, c.pr.Repo, id, run)
		} else {
			_, err = c.gh.CreateCheckRun(ctx, c.pr.Repo, run)
		}
		if err != nil {
			c.log.Warn("complete check run", "project", res.Project.Name, "err", err)
		}
	}
}

// startApplyCheck creates the in-progress apply run of a saved plan that
// is about to be applied, and returns its id; 0 when check runs are off,
// the plan has nothing for terraform to apply, or the run could not be
// created.
func (a *Applier) startApplyCheck(ctx context.Context, gh CheckRuns, pr planbot.PullRequest, p store.Plan, log *slog.Logger) int64 {
	if !a.Checks || p.Status != string(planbot.StatusPlanned) || p.Kind == string(planbot.KindKustomize) {
		return 0
	}
	id, err := gh.CreateCheckRun(ctx, pr.Repo, checkrun.ApplyStarted(pr, p.Project))
	if err != nil {
		log.Warn("create apply check run", "project", p.Project, "err", err)
		return 0
	}
	return id
}

// finishApplyCheck completes the apply run id of p with the apply's
// outcome (err) and its reply.
func (a *Applier) finishApplyCheck(ctx context.Context, gh CheckRuns, pr planbot.PullRequest, id int64, p store.Plan, reply string, err error, log *slog.Logger) {
	if id == 0 {
		return
	}
	var res planbot.Result
	_ = json.Unmarshal(p.Result, &res)
	engine := comment.EngineName(res.Project)
	conclusion, title := "success", engine+" applied"
	switch {
	case errors.Is(err, planbot.ErrDryRun):
		conclusion, title = "neutral", "Dry run: "+engine+" apply not run"
	case err != nil:
		conclusion, title = "failure", engine+" apply failed"
	default:
		res.Status = planbot.StatusApplied
		title = comment.CheckTitle(res)
	}
	if uerr := gh.UpdateCheckRun(ctx, pr.Repo, id, checkrun.Applied(pr, p.Project, conclusion, title, reply, a.Secrets)); uerr != nil {
		log.Warn("complete apply check run", "project", p.Project, "err", uerr)
	}
}
