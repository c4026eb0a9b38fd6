package webhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/event"
	"github.com/planbot/planbot/release"
	"github.com/planbot/planbot/store"
)

// ReleaseChecker checks an API release against its repository before it
// is stored, and returns the repository's installation.
type ReleaseChecker interface {
	CheckRelease(ctx context.Context, req release.APIRequest) (int64, error)
}

// JobReader reads a stored job.
type JobReader interface {
	Job(ctx context.Context, deliveryID string) (*store.Job, error)
}

// ReleaseAPI serves planbot's release API: POST /api/v1/releases and GET
// /api/v1/releases/{id}, with a bearer token.
//
// A POST is checked (token, body, then the repository's release
// configuration), stored durably as a job exactly like a webhook, and
// only then answered: 201 with the pull request when the job finished
// within Wait, 200 when there was nothing to change, 400 with the reason
// when it was refused, else 202 with the id to poll with GET. Nothing is
// stored for a request answered 400 or 401.
type ReleaseAPI struct {
	// Token is the bearer token, from --api-token-file.
	Token  []byte
	Check  ReleaseChecker
	Queue  Enqueuer
	Jobs   JobReader
	Notify func()
	// Wait bounds how long a POST waits for its job before answering 202.
	Wait time.Duration
	// Poll is how often the job is looked at while waiting; 0 is 100ms.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Routes registers the API's routes on r.
func (a *ReleaseAPI) Routes(r gin.IRouter) {
	r.POST("/api/v1/releases", a.authorized(a.create))
	r.GET("/api/v1/releases/:id", a.authorized(a.get))
}

// authorized checks the bearer token in constant time before h runs.
func (a *ReleaseAPI) authorized(h gin.HandlerFunc) gin.HandlerFunc {
	want := sha256.Sum256(a.Token)
	return func(c *gin.Context) {
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || len(a.Token) == 0 || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="planbot"`)
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "missing or invalid bearer token"})
			return
		}
		h(c)
	}
}

// create is POST /api/v1/releases.
func (a *ReleaseAPI) create(c *gin.Context) {
	ctx := c.Request.Context()
	req, err := release.DecodeAPIRequest(c.Request.Body)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": planbot.ErrorMessage(err)})
		return
	}
	log := a.Logger.With("repo", req.Repo)
	installation, err := a.Check.CheckRelease(ctx, req)
	if err != nil {
		status := Status(err)
		msg := planbot.ErrorMessage(err)
		if status >= 500 {
			log.Error("check release", "err", err)
			status, msg = http.StatusServiceUnavailable, "planbot cannot check the release with GitHub now; try again"
		}
		c.JSON(status, gin.H{"error": msg})
		return
	}
	payload, err := json.Marshal(release.APIJob{APIRequest: req, Installation: installation, ReceivedAt: a.now()})
	if err != nil {
		c.JSON(http.StatusInternalServerError, gin.H{"error": "cannot encode the release"})
		return
	}
	id := newReleaseID()
	subject := event.Subject{Repo: req.Repo, Installation: installation}
	if _, err := a.Queue.EnqueueDelivery(ctx, store.Job{DeliveryID: id, Event: event.ReleaseEvent, Payload: payload, Key: subject.Key()}); err != nil {
		log.Error("store release", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "could not store the release; try again"})
		return
	}
	log.Info("release queued", "delivery", id, "environment", req.Environment, "images", len(req.Images))
	if a.Notify != nil {
		a.Notify()
	}
	a.answer(c, a.wait(ctx, id), id, http.StatusCreated)
}

// get is GET /api/v1/releases/{id}.
func (a *ReleaseAPI) get(c *gin.Context) {
	id := c.Param("id")
	j, err := a.Jobs.Job(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && j.Event != event.ReleaseEvent) {
		c.JSON(http.StatusNotFound, gin.H{"error": "no such release"})
		return
	}
	if err != nil {
		a.Logger.Error("read release", "delivery", id, "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "cannot read the release now; try again"})
		return
	}
	a.answer(c, j, id, http.StatusOK)
}

// wait returns the job of id once it finished, or as it is when Wait
// ends or the request is cancelled.
func (a *ReleaseAPI) wait(ctx context.Context, id string) *store.Job {
	poll := a.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, a.Wait)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		j, err := a.Jobs.Job(context.WithoutCancel(ctx), id)
		if err == nil && (j.State == store.JobDone || j.State == store.JobFailed) {
			return j
		}
		select {
		case <-ctx.Done():
			return j
		case <-t.C:
		}
	}
}

// answer writes the state of the release job j; opened is the status of
// an opened pull request (201 for the POST that opened it).
func (a *ReleaseAPI) answer(c *gin.Context, j *store.Job, id string, opened int) {
	var res release.APIResult
	if j != nil && j.State == store.JobDone && json.Unmarshal(j.Result, &res) == nil {
		body := gin.H{"id": id, "state": res.State}
		switch res.State {
		case "opened":
			body["pr"], body["url"] = res.PR, res.URL
			if len(res.Superseded) > 0 {
				body["superseded"] = res.Superseded
			}
			c.JSON(opened, body)
		case "refused":
			body["error"] = res.Error
			c.JSON(http.StatusBadRequest, body)
		default:
			c.JSON(http.StatusOK, body)
		}
		return
	}
	if j != nil && (j.State == store.JobFailed || j.State == store.JobDone) {
		c.JSON(http.StatusInternalServerError, gin.H{"id": id, "state": "failed", "error": "the release failed; planbot's log has the details"})
		return
	}
	state := store.JobQueued
	if j != nil {
		state = j.State
	}
	c.JSON(http.StatusAccepted, gin.H{"id": id, "state": state, "poll": "/api/v1/releases/" + id})
}

func (a *ReleaseAPI) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// newReleaseID returns a fresh, unguessable release id.
func newReleaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "release-" + hex.EncodeToString(b[:])
}
