package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/codeowners"
	"github.com/planbot/planbot/store"
)

// pullView is a pull request's page.
type pullView struct {
	Repo   string
	Number int
	// PR is the pull request as GitHub has it; its zero value when
	// GitHub could not be asked.
	PR        planbot.PullRequest
	Projects  []projectView
	Approvals *codeowners.Decision
	// ApprovalsError says why the approvals are unknown.
	ApprovalsError string
	Jobs           []jobView
	Runs           []runView
	Audit          []audit.Entry
	Locks          []store.Lock
}

// projectView is a project's newest plan, as the comment shows it.
type projectView struct {
	Plan   store.Plan
	Result planbot.Result
}

// jobView is one job of the pull request.
type jobView struct {
	store.Job
	// Took is how long the job took from its arrival to its end; zero
	// while it runs.
	Took string
}

// runView is one run with a live log.
type runView struct {
	store.LogRun
	URL string
}

// pullTarget reads the repository and number of a pull request's route
// and checks that the user can read the repository. It answers 404 and
// returns false otherwise.
func (h *Handler) pullTarget(w http.ResponseWriter, r *request) (repoAccess, int, bool) {
	ra, ok := r.access.repo(r.PathValue("owner") + "/" + r.PathValue("repo"))
	n, err := strconv.Atoi(r.PathValue("n"))
	if !ok || err != nil || n <= 0 {
		h.notFound(w, r)
		return repoAccess{}, 0, false
	}
	return ra, n, true
}

// pull shows a pull request: its projects' newest plans, its approvals,
// jobs, live logs, locks and audit entries.
func (h *Handler) pull(w http.ResponseWriter, r *request) {
	ra, n, ok := h.pullTarget(w, r)
	if !ok {
		return
	}
	ctx := r.ctx()
	v := pullView{Repo: ra.FullName, Number: n}
	plans, err := h.Plans.OpenPlans(ctx, ra.FullName)
	if err == nil {
		v.Projects = projectsOf(plans, n)
		var jobs []store.Job
		jobs, err = h.Jobs.PullJobs(ctx, ra.FullName+"#"+strconv.Itoa(n), 20)
		v.Jobs = jobViews(jobs)
	}
	if err == nil {
		var runs []store.LogRun
		runs, err = h.Logs.LogRuns(ctx, ra.FullName, n, 10)
		for _, run := range runs {
			v.Runs = append(v.Runs, runView{LogRun: run, URL: runPath(ra.FullName, n, run.Run)})
		}
	}
	if err == nil {
		v.Audit, err = h.Audit.Audit(ctx, store.AuditFilter{Repo: ra.FullName, PR: n})
	}
	if err == nil {
		v.Locks, err = h.pullLocks(ctx, ra.FullName, n)
	}
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	h.readGitHub(ctx, ra, n, &v)
	h.render(w, r, http.StatusOK, "pull", ra.FullName+" #"+strconv.Itoa(n), v)
}

// projectsOf returns the newest plan of each project of PR n.
func projectsOf(plans []store.Plan, n int) []projectView {
	var out []projectView
	for _, p := range plans {
		if p.PR != n {
			continue
		}
		var res planbot.Result
		_ = json.Unmarshal(p.Result, &res)
		out = append(out, projectView{Plan: p, Result: res})
	}
	return out
}

func jobViews(jobs []store.Job) []jobView {
	out := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		v := jobView{Job: j}
		if !j.FinishedAt.IsZero() {
			v.Took = j.FinishedAt.Sub(j.CreatedAt).Round(1e9).String()
		}
		out = append(out, v)
	}
	return out
}

func (h *Handler) pullLocks(ctx context.Context, repo string, n int) ([]store.Lock, error) {
	all, err := h.Locks.Locks(ctx, repo)
	var out []store.Lock
	for _, l := range all {
		if l.PR == n {
			out = append(out, l)
		}
	}
	return out, err
}

// readGitHub fills in what GitHub knows: the pull request and what its
// approval rule decides now. A failure is shown on the page, not fatal.
func (h *Handler) readGitHub(ctx context.Context, ra repoAccess, n int, v *pullView) {
	if h.GitHub == nil {
		v.ApprovalsError = "GitHub is not connected."
		return
	}
	repo, err := planbot.ParseRepo(ra.FullName)
	if err != nil {
		return
	}
	gh := h.GitHub(ra.Installation)
	pr, err := gh.PullRequest(ctx, repo, n)
	if err != nil {
		h.Logger.Warn("web: reading a pull request", "repo", ra.FullName, "pr", n, "err", err)
		v.ApprovalsError = "GitHub could not be asked about this pull request."
		return
	}
	v.PR = pr
	f, err := codeowners.Load(ctx, gh, repo, pr.BaseSHA)
	var files []planbot.ChangedFile
	if err == nil {
		files, err = gh.ChangedFiles(ctx, repo, n)
	}
	var d codeowners.Decision
	if err == nil {
		d, err = codeowners.Check(ctx, gh, f, codeowners.Input{Repo: repo, Number: n, Author: pr.Author, HeadSHA: pr.HeadSHA, Paths: codeowners.Paths(files)})
	}
	if err != nil {
		h.Logger.Warn("web: evaluating approvals", "repo", ra.FullName, "pr", n, "err", err)
		v.ApprovalsError = "The approvals could not be evaluated: " + planbot.ErrorMessage(err)
		return
	}
	v.Approvals = &d
}

// runPath is the path of a run's live log.
func runPath(repo string, pr int, run string) string {
	return pullPath(repo, pr) + "/runs/" + strings.ReplaceAll(run, "/", "%2F")
}
