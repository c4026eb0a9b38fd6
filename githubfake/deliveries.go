package githubfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cursorPrefix starts the opaque cursors of GET /app/hook/deliveries.
const cursorPrefix = "v1_"

// deliveryStatus returns the status text GitHub shows for an attempt:
// "OK" for a 2xx answer, "Invalid HTTP Response: N" for another answer and
// "failed to connect to host" when there was none.
func deliveryStatus(d Delivery) string {
	switch {
	case d.StatusCode >= 200 && d.StatusCode < 300:
		return "OK"
	case d.StatusCode == 0:
		return "failed to connect to host"
	default:
		return fmt.Sprintf("Invalid HTTP Response: %d", d.StatusCode)
	}
}

// deliveryItemJSON returns GitHub's hook-delivery-item object for an
// attempt: action, installation_id and repository_id come from the
// payload, and are null when it has none.
func deliveryItemJSON(d Delivery) map[string]any {
	var p struct {
		Action       *string `json:"action"`
		Installation *struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository *struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	_ = json.Unmarshal(d.Payload, &p)
	item := map[string]any{
		"id":              d.AttemptID,
		"guid":            d.ID,
		"delivered_at":    d.DeliveredAt.UTC().Format(time.RFC3339),
		"redelivery":      d.Redelivery,
		"duration":        d.Duration.Seconds(),
		"status":          deliveryStatus(d),
		"status_code":     d.StatusCode,
		"event":           d.Event,
		"action":          nil,
		"installation_id": nil,
		"repository_id":   nil,
		"throttled_at":    nil,
	}
	if p.Action != nil {
		item["action"] = *p.Action
	}
	if p.Installation != nil {
		item["installation_id"] = p.Installation.ID
	}
	if p.Repository != nil {
		item["repository_id"] = p.Repository.ID
	}
	return item
}

// listHookDeliveries serves GET /app/hook/deliveries: every recorded
// attempt, newest first, per_page (default 30, at most 100) at a time.
// The Link header's rel="next" carries a cursor; status=success or
// status=failure filters on a 2xx answer.
func (s *Server) listHookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	var before int64 // only attempts with a smaller id; 0: all
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(c, cursorPrefix), 10, 64)
		if err != nil || !strings.HasPrefix(c, cursorPrefix) {
			writeError(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		before = n
	}
	status := q.Get("status")
	s.mu.Lock()
	all := append([]Delivery(nil), s.deliveries...)
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].AttemptID > all[j].AttemptID })
	var page []Delivery
	more := false
	for _, d := range all {
		if before != 0 && d.AttemptID >= before {
			continue
		}
		ok := d.StatusCode >= 200 && d.StatusCode < 300
		if (status == "success" && !ok) || (status == "failure" && ok) {
			continue
		}
		if len(page) == per {
			more = true
			break
		}
		page = append(page, d)
	}
	if more {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		qq := r.URL.Query()
		qq.Set("cursor", cursorPrefix+strconv.FormatInt(page[len(page)-1].AttemptID, 10))
		u.RawQuery = qq.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", u.String()))
	}
	items := make([]any, 0, len(page))
	for _, d := range page {
		items = append(items, deliveryItemJSON(d))
	}
	writeJSON(w, http.StatusOK, items)
}

// redeliverHookDelivery serves POST /app/hook/deliveries/{id}/attempts. It
// sends the attempt's delivery again (same GUID, payload and URL, signed
// with the same secret) before answering 202, so the new attempt, with
// redelivery true, is recorded by the time the caller gets the answer. An
// unknown id is a 404.
func (s *Server) redeliverHookDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var d *Delivery
	s.mu.Lock()
	for i := range s.deliveries {
		if err == nil && s.deliveries[i].AttemptID == id {
			c := s.deliveries[i]
			d = &c
			break
		}
	}
	s.mu.Unlock()
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	d.Redelivery = true
	d.StatusCode, d.Err = 0, nil
	// The delivery outlives a caller that hangs up, as GitHub's does.
	resp, _ := s.send(context.WithoutCancel(r.Context()), d)
	if resp != nil {
		resp.Body.Close()
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
}
