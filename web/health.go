package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/planbot/planbot/store"
)

// health shows the server's version, uptime, queue, workers and drift.
func (h *Handler) health(w http.ResponseWriter, r *request) {
	now := h.now()
	counts, err := h.Health.CountJobs(r.ctx(), now)
	if err != nil {
		h.storeFailed(w, r, err)
		return
	}
	pass, err := h.Health.LastPass(r.ctx(), h.Info.DriftPass)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.storeFailed(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "health", "Health", map[string]any{
		"Info": h.Info, "Uptime": now.Sub(h.Info.Started).Round(time.Second), "Counts": counts, "Drift": pass,
	})
}
