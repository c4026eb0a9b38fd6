package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/checkrun"
	"github.com/planbot/planbot/comment"
	"github.com/planbot/planbot/store"
)

// CheckRuns writes check runs. A plan creates one run per project, and an
// apply one per applied project, once each is done: already completed,
// with its output, annotations and buttons, in one request (more only for
// annotations beyond the Checks API's 50 a request). UpdateCheckRun
// rewrites a run's summary when a click on its button is refused.
type CheckRuns interface {
	CreateCheckRun(ctx context.Context, repo planbot.Repo, run checkrun.Run) (int64, error)
	UpdateCheckRun(ctx context.Context, repo planbot.Repo, id int64, run checkrun.Run) error
}

// planChecks are the plan check runs of one plan job. A nil *planChecks
// writes none (--checks=off). A failure to write a check run is logged,
// never a failure of the plan: the comment and the commit statuses are
// what the plan reports first.
type planChecks struct {
	gh  CheckRuns
	pr  planbot.PullRequest
	log *slog.Logger

	mu      sync.Mutex           // mu guards started.
	started map[string]time.Time // by project name
}

// newPlanChecks returns the check runs of a plan of pr, nil when on is
// false.
func newPlanChecks(on bool, gh CheckRuns, pr planbot.PullRequest, log *slog.Logger) *planChecks {
	if !on {
		return nil
	}
	return &planChecks{gh: gh, pr: pr, log: log, started: map[string]time.Time{}}
}

// start notes that this job plans project p, and when it began. It writes
// nothing: the run is created by finish.
func (c *planChecks) start(p planbot.Project) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started[p.Name] = time.Now()
}

// finish creates the completed run of each result this job planned, with
// its output, annotations and buttons: one request per project.
func (c *planChecks) finish(ctx context.Context, results []planbot.Result, secrets []string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, res := range results {
		began, ok := c.started[res.Project.Name]
		if !ok {
			continue // planned by an earlier job (a /plan -p of another project)
		}
		run := checkrun.Plan(c.pr, res, comment.Options{Secrets: secrets})
		run.StartedAt = began
		if _, err := c.gh.CreateCheckRun(ctx, c.pr.Repo, run); err != nil {
			c.log.Warn("create check run", "project", res.Project.Name, "err", err)
		}
	}
}

// applyCheck creates the completed apply run of saved plan p, which began
// at began, with the apply's outcome (err) and its reply: one request.
// It writes nothing when check runs are off or the plan had nothing for
// terraform to apply (a Kustomize project, a plan without changes).
func (a *Applier) applyCheck(ctx context.Context, gh CheckRuns, pr planbot.PullRequest, p store.Plan, began time.Time, reply string, err error, log *slog.Logger) {
	if !a.Checks || p.Status != string(planbot.StatusPlanned) || p.Kind == string(planbot.KindKustomize) {
		return
	}
	res, _ := savedResult(p)
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
	run := checkrun.Applied(pr, p.Project, conclusion, title, reply, a.Secrets)
	run.StartedAt = began
	if _, cerr := gh.CreateCheckRun(ctx, pr.Repo, run); cerr != nil {
		log.Warn("create apply check run", "project", p.Project, "err", cerr)
	}
}
