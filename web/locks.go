package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// lockView is one lock on the locks page.
type lockView struct {
	store.Lock
	// Project is the name of the project of the lock's directory and
	// workspace in the holder's newest plans, "" when unknown.
	Project string
	// Write reports whether the user may release it.
	Write bool
}

// locks lists the locks of every repository the user can see.
func (h *Handler) locks(w http.ResponseWriter, r *request) {
	visible, err := h.visible(r)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	var out []lockView
	for _, v := range visible {
		for _, l := range v.locks {
			out = append(out, lockView{Lock: l, Project: projectOf(v.plans, l), Write: v.Write})
		}
	}
	h.render(w, r, http.StatusOK, "locks", "Locks", map[string]any{"Locks": out, "Released": r.URL.Query().Get("released")})
}

// projectOf names the project a lock is for, from its holder's plans.
func projectOf(plans []store.Plan, l store.Lock) string {
	for _, p := range plans {
		if p.PR == l.PR && p.Dir == l.Dir && p.Workspace == l.Workspace {
			return p.Project
		}
	}
	return ""
}

// release is POST /locks/release: it needs write access to the lock's
// repository (and the CSRF token, checked by authed). The release is
// audited as unlock with the user as actor, and the pull request that
// held the lock is told.
func (h *Handler) release(w http.ResponseWriter, r *request) {
	repo, dir, ws := r.PostFormValue("repo"), r.PostFormValue("dir"), r.PostFormValue("workspace")
	pr, err := strconv.Atoi(r.PostFormValue("pr"))
	ra, ok := r.access.repo(repo)
	switch {
	case !ok || err != nil:
		h.notFound(w, r)
		return
	case !ra.Write:
		h.render(w, r, http.StatusForbidden, "message", "Not allowed", map[string]any{"Message": "Releasing a lock needs write access to " + ra.FullName + "."})
		return
	}
	plans, err := h.Plans.OpenPlans(r.ctx(), ra.FullName)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	lock := store.Lock{Repo: ra.FullName, Dir: dir, Workspace: ws, PR: pr}
	released, err := h.Locks.ReleaseLock(r.ctx(), ra.FullName, dir, ws, pr)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	if !released {
		h.render(w, r, http.StatusConflict, "message", "Nothing released", map[string]any{"Message": "That lock is not held by that pull request any more."})
		return
	}
	project := projectOf(plans, lock)
	if project == "" {
		project = dir
	}
	detail := fmt.Sprintf("%s (workspace %s, held by #%d) released from planbot's web page", dir, ws, pr)
	if _, _, err := h.Audit.AppendAudit(r.ctx(), audit.Entry{
		Repo: ra.FullName, PR: pr, Project: project, Action: audit.ActionUnlock, Actor: r.s.Login,
		Outcome: "released", Detail: detail, DeliveryID: "web-" + randomID(),
	}); err != nil {
		h.Logger.Error("web: auditing an unlock", "repo", ra.FullName, "pr", pr, "err", err)
	}
	h.Logger.Info("web: lock released", "repo", ra.FullName, "pr", pr, "project", project, "user", r.s.Login)
	h.tellPull(r, ra, pr, fmt.Sprintf("@%s released the lock of `%s` (workspace %s) from planbot's web page. Other pull requests can plan it now; comment /plan to plan this one again.", r.s.Login, dir, ws))
	http.Redirect(w, r.Request, "/locks?released="+url.QueryEscape(ra.FullName+" "+dir), http.StatusSeeOther)
}

// tellPull comments on a pull request as the App; a failure is logged.
func (h *Handler) tellPull(r *request, ra repoAccess, pr int, body string) {
	repo, err := planbot.ParseRepo(ra.FullName)
	if err != nil || h.GitHub == nil {
		return
	}
	if _, err := h.GitHub(ra.Installation).CreateComment(r.ctx(), repo, pr, body); err != nil {
		h.Logger.Warn("web: telling the pull request of an unlock", "repo", ra.FullName, "pr", pr, "err", err)
	}
}
