package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/planbot/planbot/livelog"
	"github.com/planbot/planbot/store"
)

// runPage shows a run's live log. The page's script follows the events,
// from the run's first line on: the commit status links here before
// terraform has printed anything. Without the script the page links to
// the pull request, which shows the result once the run ended.
func (h *Handler) runPage(w http.ResponseWriter, r *request) {
	ra, n, ok := h.pullTarget(w, r)
	if !ok {
		return
	}
	run := r.PathValue("run")
	h.render(w, r, http.StatusOK, "run", ra.FullName+" #"+strconv.Itoa(n)+": live log", map[string]any{
		"Pull": pullPath(ra.FullName, n), "Events": runPath(ra.FullName, n, run) + "/events", "Run": run,
	})
}

// livePoll returns how often a live log reads the store.
func (h *Handler) livePoll() time.Duration {
	if h.LivePoll > 0 {
		return h.LivePoll
	}
	return 500 * time.Millisecond
}

// liveEvent is the data of a "chunk" event.
type liveEvent struct {
	Project string `json:"project"`
	Text    string `json:"text"`
}

// runEvents streams a run's live log as Server-Sent Events: a "chunk"
// event per stored chunk, then an "end" event with the outcome, after
// which the stream ends. A reconnecting client resumes after the
// Last-Event-ID it got. The stream also ends when the client goes away.
func (h *Handler) runEvents(w http.ResponseWriter, r *request) {
	ra, n, ok := h.pullTarget(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The server's write timeout is for ordinary pages; a stream lives
	// as long as its run, or until the client goes away.
	_ = rc.SetWriteDeadline(time.Time{})
	send := func(c store.LogChunk) error {
		event, data := "chunk", []byte(nil)
		if c.End {
			event, data = "end", mustJSON(liveEvent{Text: c.Text})
		} else {
			data = mustJSON(liveEvent{Project: c.Project, Text: c.Text})
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", c.ID, event, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	err := livelog.Follow(r.ctx(), h.Logs, ra.FullName, n, r.PathValue("run"), after, h.livePoll(), send)
	if err != nil && !errors.Is(err, context.Canceled) {
		h.Logger.Debug("web: live log ended", "repo", ra.FullName, "pr", n, "err", err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
