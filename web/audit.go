package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// auditPageSize is how many entries an audit page shows.
const auditPageSize = 50

// auditFilter is the audit page's filter, from its query.
type auditFilter struct {
	Repo, Project, Action, Actor string
	PR                           int
	// Since and Until are dates (YYYY-MM-DD), Until inclusive.
	Since, Until string
	Page         int
}

func parseAuditFilter(q url.Values) auditFilter {
	f := auditFilter{
		Repo: strings.TrimSpace(q.Get("repo")), Project: strings.TrimSpace(q.Get("project")),
		Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimPrefix(strings.TrimSpace(q.Get("actor")), "@"),
		Since: q.Get("since"), Until: q.Get("until"), Page: 1,
	}
	f.PR, _ = strconv.Atoi(q.Get("pr"))
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 0 {
		f.Page = p
	}
	return f
}

// query returns the filter as a query string, without the page.
func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"repo": f.Repo, "project": f.Project, "action": f.Action, "actor": f.Actor, "since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.PR > 0 {
		q.Set("pr", strconv.Itoa(f.PR))
	}
	return q
}

// entries returns the entries the filter selects among those of
// repositories the user can read, in seq order.
func (h *Handler) auditEntries(r *request, f auditFilter) ([]audit.Entry, error) {
	sf := store.AuditFilter{PR: f.PR}
	if ra, ok := r.access.repo(f.Repo); ok {
		sf.Repo = ra.FullName
	} else if f.Repo != "" {
		return nil, nil
	}
	since, errS := time.Parse(time.DateOnly, f.Since)
	if errS == nil {
		sf.Since = since
	}
	until, errU := time.Parse(time.DateOnly, f.Until)
	all, err := h.Audit.Audit(r.ctx(), sf)
	if err != nil {
		return nil, err
	}
	var out []audit.Entry
	for _, e := range all {
		if _, ok := r.access.repo(e.Repo); !ok {
			continue
		}
		if f.Project != "" && !strings.EqualFold(e.Project, f.Project) ||
			f.Action != "" && e.Action != f.Action ||
			f.Actor != "" && !strings.EqualFold(e.Actor, f.Actor) ||
			errU == nil && !e.Time.Before(until.AddDate(0, 0, 1)) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// verdict is the verify badge: the whole chain checked.
type verdict struct {
	OK      bool
	BadSeq  int64
	Head    string
	Entries int
	// Complete reports whether the user can read every entry, so that
	// the export of the whole log verifies.
	Complete bool
}

func (h *Handler) verify(r *request) (verdict, error) {
	all, err := h.Audit.Audit(r.ctx(), store.AuditFilter{})
	if err != nil {
		return verdict{}, err
	}
	v := verdict{Entries: len(all), Complete: true}
	v.BadSeq, v.OK = audit.Verify(all)
	if len(all) > 0 {
		v.Head = all[len(all)-1].Hash
	}
	for _, e := range all {
		if _, ok := r.access.repo(e.Repo); !ok {
			v.Complete = false
			break
		}
	}
	return v, nil
}

// audit shows the audit log, filtered and paged, newest first, with the
// verify badge.
func (h *Handler) audit(w http.ResponseWriter, r *request) {
	f := parseAuditFilter(r.URL.Query())
	entries, err := h.auditEntries(r, f)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	v, err := h.verify(r)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	total := len(entries)
	pages := max((total+auditPageSize-1)/auditPageSize, 1)
	page := min(f.Page, pages)
	// Newest first: page 1 holds the end of the log.
	hi := total - (page-1)*auditPageSize
	lo := max(hi-auditPageSize, 0)
	shown := make([]audit.Entry, 0, hi-lo)
	for i := hi - 1; i >= lo; i-- {
		shown = append(shown, entries[i])
	}
	q := f.query()
	pageLink := func(p int) string {
		qq := f.query()
		qq.Set("page", strconv.Itoa(p))
		return "/audit?" + qq.Encode()
	}
	data := map[string]any{
		"Filter": f, "Entries": shown, "Total": total, "Page": page, "Pages": pages, "Verdict": v,
		"Export": "/audit/export?" + q.Encode(), "Repos": r.access.sorted(),
		"Actions": []string{audit.ActionPlan, audit.ActionApplyRequested, audit.ActionApply, audit.ActionApplyRefused, audit.ActionApplyInterrupted,
			audit.ActionMerge, audit.ActionUnlock, audit.ActionLockConflict, audit.ActionDriftDetected, audit.ActionDriftResolved},
	}
	if page > 1 {
		data["Newer"] = pageLink(page - 1)
	}
	if page < pages {
		data["Older"] = pageLink(page + 1)
	}
	h.render(w, r, http.StatusOK, "audit", "Audit log", data)
}

// auditExport downloads the entries the filter selects as JSON lines,
// the format of `planbot audit --json`. Without a filter, and for a user
// who can read every repository in it, it is the whole log, which
// `planbot audit --verify --file` checks.
func (h *Handler) auditExport(w http.ResponseWriter, r *request) {
	entries, err := h.auditEntries(r, parseAuditFilter(r.URL.Query()))
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="planbot-audit.jsonl"`)
	if err := audit.WriteJSON(w, entries); err != nil {
		h.Logger.Warn("web: writing the audit export", "err", err)
	}
}
