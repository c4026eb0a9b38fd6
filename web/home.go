package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot/store"
)

// homeRepo is one repository on the home page.
type homeRepo struct {
	Name  string
	Write bool
	Pulls []homePull
	Locks []store.Lock
}

// homePull is an open pull request planbot planned.
type homePull struct {
	Number   int
	URL      string
	Projects []store.Plan
	// Planned is when its newest plan was made.
	Planned time.Time
}

// home lists the repositories the user can see, with their planned pull
// requests and their locks.
func (h *Handler) home(w http.ResponseWriter, r *request) {
	visible, err := h.visible(r)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	repos := make([]homeRepo, 0, len(visible))
	for _, v := range visible {
		repos = append(repos, homeRepo{Name: v.FullName, Write: v.Write, Pulls: groupPulls(v.FullName, v.plans), Locks: v.locks})
	}
	h.render(w, r, http.StatusOK, "home", "Pull requests", repos)
}

// visibleRepo is a repository the user can read, with its open plans and
// its locks.
type visibleRepo struct {
	repoAccess
	plans []store.Plan
	locks []store.Lock
}

// visible returns the repositories the user can read, by name, with their
// open plans and locks: one read of each, never one per repository.
func (h *Handler) visible(r *request) ([]visibleRepo, error) {
	allPlans, err := h.Plans.OpenPlans(r.ctx(), "")
	if err != nil {
		return nil, err
	}
	allLocks, err := h.Locks.Locks(r.ctx(), "")
	if err != nil {
		return nil, err
	}
	plans, locks := map[string][]store.Plan{}, map[string][]store.Lock{}
	for _, p := range allPlans {
		if _, ok := r.access.repo(p.Repo); ok {
			plans[strings.ToLower(p.Repo)] = append(plans[strings.ToLower(p.Repo)], p)
		}
	}
	for _, l := range allLocks {
		if _, ok := r.access.repo(l.Repo); ok {
			locks[strings.ToLower(l.Repo)] = append(locks[strings.ToLower(l.Repo)], l)
		}
	}
	var out []visibleRepo
	for _, ra := range r.access.sorted() {
		k := strings.ToLower(ra.FullName)
		out = append(out, visibleRepo{repoAccess: ra, plans: plans[k], locks: locks[k]})
	}
	return out, nil
}

// groupPulls groups plans, ordered by PR, into pull requests.
func groupPulls(repo string, plans []store.Plan) []homePull {
	var out []homePull
	for _, p := range plans {
		if len(out) == 0 || out[len(out)-1].Number != p.PR {
			out = append(out, homePull{Number: p.PR, URL: pullPath(repo, p.PR)})
		}
		hp := &out[len(out)-1]
		hp.Projects = append(hp.Projects, p)
		if p.CreatedAt.After(hp.Planned) {
			hp.Planned = p.CreatedAt
		}
	}
	return out
}

// pullPath is the path of a pull request's page.
func pullPath(repo string, pr int) string { return "/" + repo + "/pull/" + strconv.Itoa(pr) }

// storeFailed answers a page whose data could not be read.
func (h *Handler) storeFailed(w http.ResponseWriter, r *request, err error) {
	h.Logger.Error("web: reading the store", "err", err)
	h.render(w, r, http.StatusInternalServerError, "message", "Error", map[string]any{"Message": "planbot could not read its database; try again shortly."})
}
