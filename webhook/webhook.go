// Package webhook is planbot's HTTP adapter. Its handler verifies a GitHub
// delivery's X-Hub-Signature-256 over the raw body, decodes it once and
// routes it by the table of package event, stores it durably as a queued
// job when it is work, keyed by its pull request, and only then
// acknowledges it. GitHub never redelivers on its own, so a delivery that
// was acknowledged but not stored would be a lost plan. Everything else
// happens in the runner.
//
// The front door is bounded before any of that: the server's connections
// have read, write and idle timeouts (NewServer), a Content-Length above
// GitHub's 25 MB payload cap is answered 413 without reading the body, and
// at most MaxInFlight webhook requests are handled at once, the others
// answered 503. GitHub records a 503 as a failed delivery, which the
// runner's Redeliverer asks it to send again, so shedding load loses
// nothing.
//
// The same server answers planbot's release API (ReleaseAPI): requests
// authenticated with a bearer token, stored as jobs like webhooks.
//
// This is the only package that imports gin.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/metrics"
	"github.com/planbot/planbot/store"
)

// MaxBody is GitHub's payload cap: larger events are never sent.
const MaxBody = 25 << 20

// Enqueuer stores a delivery as a queued job.
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, j store.Job) (inserted bool, err error)
}

// Handler receives GitHub deliveries.
type Handler struct {
	Secret []byte
	Queue  Enqueuer
	// AllowRepo reports whether events of a repository ("owner/name") are
	// processed; nil allows all.
	AllowRepo func(repo string) bool
	// Notify, when set, is called after a job is stored, to wake workers.
	Notify func()
	// Deliveries, when set, counts deliveries by event and result (see
	// NewDeliveries).
	Deliveries *metrics.Counter
	// Metrics, when set, serves GET /metrics.
	Metrics http.Handler
	// Releases, when set, serves the release API (see ReleaseAPI).
	Releases *ReleaseAPI
	// MaxInFlight bounds the webhook requests handled at once, from their
	// headers to their answer; a request beyond it is answered 503 at once.
	// Zero means no bound.
	MaxInFlight int
	// InFlight, when set, tracks the webhook requests being handled (see
	// NewInFlight).
	InFlight *metrics.Gauge
	Logger   *slog.Logger

	inflight atomic.Int64 // webhook requests being handled
}

// Timeouts bound the connections of an HTTP server (see net/http.Server):
// ReadHeader the request's headers, Read the whole request, body included,
// Write everything from the end of the headers to the end of the response,
// and Idle how long a kept-alive connection waits for its next request.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// NewServer returns an HTTP server of handler whose connections are bounded
// by t: a client that sends its body too slowly is cut off when the read
// timeout ends, instead of holding a connection and a goroutine forever.
func NewServer(handler http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// Results of a delivery, as counted by planbot_webhook_deliveries_total.
const (
	ResultQueued    = "queued"    // stored as a job
	ResultDuplicate = "duplicate" // already stored under the same delivery ID
	ResultIgnored   = "ignored"   // acknowledged, not work (including ping)
	ResultRejected  = "rejected"  // answered 400, 401, 408 or 413
	ResultBusy      = "busy"      // answered 503: too many requests in flight
	ResultError     = "error"     // could not be stored
)

// NewDeliveries registers planbot_webhook_deliveries_total in r.
func NewDeliveries(r *metrics.Registry) *metrics.Counter {
	return r.Counter("planbot_webhook_deliveries_total",
		"Webhook deliveries received, by event and result (queued, duplicate, ignored, rejected, busy, error).",
		"event", "result")
}

// NewInFlight registers planbot_webhook_requests_in_flight in r.
func NewInFlight(r *metrics.Registry) *metrics.Gauge {
	return r.Gauge("planbot_webhook_requests_in_flight",
		"Webhook requests being handled, bounded by --max-inflight-webhooks.")
}

// eventLabel bounds the event label: the header is read before the
// signature is checked, so anyone could otherwise invent label values.
// Only the events of the routing table and ping have their own.
func eventLabel(name string) string {
	switch {
	case name == "":
		return "none"
	case name == "ping", event.Known(name):
		return name
	}
	return "other"
}

// ValidSignature reports whether header is the sha256 HMAC of body under
// secret, compared in constant time.
func ValidSignature(secret, body []byte, header string) bool {
	const prefix = "sha256="
	if len(secret) == 0 || !strings.HasPrefix(header, prefix) {
		return false
	}
	got, err := hex.DecodeString(header[len(prefix):])
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Routes registers the handler's routes on r.
func (h *Handler) Routes(r gin.IRouter) {
	r.POST("/webhook", h.receive)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	if h.Metrics != nil {
		r.GET("/metrics", gin.WrapH(h.Metrics))
	}
	if h.Releases != nil {
		h.Releases.Routes(r)
	}
}

// NewEngine returns a gin engine serving h, with panic recovery.
func NewEngine(h *Handler) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(gin.Recovery())
	h.Routes(e)
	return e
}

// receive is POST /webhook: admit, read, verify, route, store, answer.
// Each step answers the request itself when it ends it.
func (h *Handler) receive(c *gin.Context) {
	start := time.Now()
	delivery := c.GetHeader("X-GitHub-Delivery")
	name := c.GetHeader("X-GitHub-Event")
	r := &request{c: c, log: h.Logger.With("delivery", delivery, "event", name),
		count: func(result string) { h.Deliveries.Inc(eventLabel(name), result) }}

	if !h.admitRequest(r) {
		return
	}
	defer h.release()
	body, ok := readBody(r)
	if !ok {
		return
	}
	if !ValidSignature(h.Secret, body, c.GetHeader("X-Hub-Signature-256")) {
		r.fail(ResultRejected, http.StatusUnauthorized, "missing or invalid X-Hub-Signature-256")
		return
	}
	if delivery == "" || name == "" {
		r.fail(ResultRejected, http.StatusBadRequest, "missing X-GitHub-Delivery or X-GitHub-Event")
		return
	}
	d, ok := h.route(r, name, body)
	if !ok {
		return
	}
	if h.enqueue(r, store.Job{DeliveryID: delivery, Event: name, Payload: body, Key: d.Subject.Key()}) {
		r.log.Info("delivery queued", "action", d.Action, "key", d.Subject.Key(), "elapsed", time.Since(start))
	}
}

// request is one webhook request on its way through receive's steps.
type request struct {
	c     *gin.Context
	log   *slog.Logger
	count func(result string)
}

// fail counts the delivery as result and answers status with msg.
func (r *request) fail(result string, status int, msg string) {
	r.count(result)
	fail(r.c, r.log, status, msg)
}

// answer counts the delivery as result and answers status with body.
func (r *request) answer(result string, status int, body gin.H) {
	r.count(result)
	r.c.JSON(status, body)
}

// admitRequest refuses a body over MaxBody by its Content-Length, before a
// byte of it is read, and a request beyond the in-flight cap. A true
// answer must be followed by release.
func (h *Handler) admitRequest(r *request) bool {
	if r.c.Request.ContentLength > MaxBody {
		// Closing the connection keeps the server from draining the body.
		r.c.Header("Connection", "close")
		r.fail(ResultRejected, http.StatusRequestEntityTooLarge, "payload larger than 25 MB")
		return false
	}
	if !h.admit() {
		r.fail(ResultBusy, http.StatusServiceUnavailable, "too many deliveries in flight; this one is redelivered later")
		return false
	}
	return true
}

// readBody reads the body through the MaxBody limit and the server's read
// timeout.
func readBody(r *request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(r.c.Writer, r.c.Request.Body, MaxBody))
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	var netErr net.Error
	r.c.Header("Connection", "close")
	switch {
	case errors.As(err, &tooBig):
		r.fail(ResultRejected, http.StatusRequestEntityTooLarge, "payload larger than 25 MB")
	case errors.As(err, &netErr) && netErr.Timeout():
		r.fail(ResultRejected, http.StatusRequestTimeout, "body not received within the read timeout")
	default:
		r.fail(ResultRejected, http.StatusBadRequest, "cannot read body")
	}
	return nil, false
}

// route decodes the payload through the event table and answers, without
// storing it, a ping, a delivery that is no work and one from a repository
// outside the allowlist.
func (h *Handler) route(r *request, name string, body []byte) (event.Delivery, bool) {
	d, err := event.Decode(name, body)
	switch {
	case name == event.ReleaseEvent:
		// Only the release API stores these jobs.
		r.fail(ResultRejected, http.StatusBadRequest, "not a GitHub event")
	case err != nil:
		r.fail(ResultRejected, http.StatusBadRequest, "malformed JSON payload")
	case name == "ping":
		r.answer(ResultIgnored, http.StatusOK, gin.H{"status": "pong"})
	case !d.Work():
		r.answer(ResultIgnored, http.StatusAccepted, gin.H{"status": "ignored"})
	case h.AllowRepo != nil && !h.AllowRepo(d.Subject.Repo):
		r.log.Info("repository not allowed; ignored", "repo", d.Subject.Repo)
		r.answer(ResultIgnored, http.StatusAccepted, gin.H{"status": "ignored", "reason": "repository not in allowlist"})
	default:
		r.log = r.log.With("repo", d.Subject.Repo)
		return d, true
	}
	return d, false
}

// enqueue stores the delivery durably and answers; it reports whether the
// delivery was new.
func (h *Handler) enqueue(r *request, job store.Job) bool {
	inserted, err := h.Queue.EnqueueDelivery(r.c.Request.Context(), job)
	switch {
	case err != nil:
		r.log.Error("store delivery", "err", err)
		r.fail(ResultError, Status(err), "could not store the delivery; please redeliver it")
		return false
	case !inserted:
		r.log.Info("duplicate delivery ignored")
		r.answer(ResultDuplicate, http.StatusOK, gin.H{"status": "duplicate"})
		return false
	}
	if h.Notify != nil {
		h.Notify()
	}
	r.answer(ResultQueued, http.StatusAccepted, gin.H{"status": "queued"})
	return true
}

// admit takes one of the MaxInFlight places, and reports whether there
// was one. A true answer must be followed by release.
func (h *Handler) admit() bool {
	n := h.inflight.Add(1)
	if h.MaxInFlight > 0 && n > int64(h.MaxInFlight) {
		h.inflight.Add(-1)
		return false
	}
	h.InFlight.Inc()
	return true
}

// release gives back the place admit took.
func (h *Handler) release() {
	h.InFlight.Dec()
	h.inflight.Add(-1)
}

func fail(c *gin.Context, log *slog.Logger, status int, msg string) {
	log.Warn("delivery rejected", "status", status, "reason", msg)
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

// Status maps an error's planbot code to an HTTP status.
func Status(err error) int {
	switch planbot.ErrorCode(err) {
	case "":
		return http.StatusOK
	case planbot.EINVALID:
		return http.StatusBadRequest
	case planbot.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case planbot.ECONFLICT:
		return http.StatusConflict
	case planbot.ENOTFOUND:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}
