package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed testdata/webhooks/*.json
var examples embed.FS

// example decodes testdata/webhooks/<name>.payload.json.
func (s *Server) example(name string) map[string]any {
	s.t.Helper()
	b, err := examples.ReadFile("testdata/webhooks/" + name + ".payload.json")
	if err != nil {
		s.t.Fatalf("githubfake: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("githubfake: %s: %v", name, err)
	}
	return m
}

// Captured returns GitHub's example payloads of testdata/webhooks as they
// were captured, by name: the event, a dot and the action, and for some a
// variant ("issue_comment.created.with-installation"). Fuzz tests seed
// their corpus with them; the Event methods patch them to the fake's state.
func Captured() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := examples.ReadDir("testdata/webhooks")
	for _, e := range entries {
		b, err := examples.ReadFile("testdata/webhooks/" + e.Name())
		if err == nil {
			out[strings.TrimSuffix(e.Name(), ".payload.json")] = b
		}
	}
	return out
}

// overlay sets the keys of src on the map dst[key], creating it if needed.
func overlay(dst map[string]any, key string, src map[string]any) {
	d, _ := dst[key].(map[string]any)
	if d == nil {
		d = map[string]any{}
	}
	for k, v := range src {
		d[k] = v
	}
	dst[key] = d
}

// common sets repository, organization, installation and sender. The
// caller holds mu.
func (s *Server) common(m map[string]any, rp *repo, sender string) {
	overlay(m, "repository", s.repoJSON(rp))
	if rp.ownerType == "Organization" {
		id := s.userID(rp.owner)
		m["organization"] = map[string]any{
			"login": rp.owner, "id": id, "node_id": nodeID("O_kgDO", id),
			"url": s.APIURL() + "orgs/" + rp.owner, "description": nil,
		}
	} else {
		delete(m, "organization")
	}
	in := s.installationFor(rp.fullName())
	if in == nil {
		s.t.Fatalf("githubfake: the App is not installed on %s", rp.fullName())
	}
	m["installation"] = map[string]any{"id": in.id, "node_id": nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", in.id)}
	m["sender"] = s.userJSON(sender)
}

func (s *Server) marshal(m map[string]any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		s.t.Fatalf("githubfake: %v", err)
	}
	return b
}

// webhookPull returns the pull_request object of a payload. The caller
// holds mu.
func (s *Server) webhookPull(m map[string]any, rp *repo, pr *pull) {
	pj, err := s.pullJSON(s.t.Context(), rp, pr, nil, "unknown")
	if err != nil {
		s.t.Fatalf("githubfake: %v", err)
	}
	api := s.APIURL() + "repos/" + rp.fullName()
	pj["_links"] = map[string]any{
		"self":            map[string]string{"href": pj["url"].(string)},
		"html":            map[string]string{"href": pj["html_url"].(string)},
		"issue":           map[string]string{"href": pj["issue_url"].(string)},
		"comments":        map[string]string{"href": pj["comments_url"].(string)},
		"statuses":        map[string]string{"href": pj["statuses_url"].(string)},
		"commits":         map[string]string{"href": pj["commits_url"].(string)},
		"review_comments": map[string]string{"href": pj["review_comments_url"].(string)},
		"review_comment":  map[string]string{"href": api + "/pulls/comments{/number}"},
	}
	overlay(m, "pull_request", pj)
}

// PullRequestEvent returns a pull_request payload for a pull request's
// current state. action is opened, synchronize (with before and after),
// closed (merged follows the pull request), reopened, edited,
// ready_for_review or converted_to_draft. The sender is the author, or the
// merger for a merged close.
func (s *Server) PullRequestEvent(action, fullName string, n int) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.mustPull(fullName, n)
	return s.pullRequestEvent(action, rp, pr)
}

// pullRequestEvent implements PullRequestEvent. The caller holds mu.
func (s *Server) pullRequestEvent(action string, rp *repo, pr *pull) []byte {
	base := "opened"
	switch action {
	case "synchronize", "closed", "reopened":
		base = action
	}
	m := s.example("pull_request." + base)
	m["action"] = action
	m["number"] = pr.number
	s.webhookPull(m, rp, pr)
	sender := pr.author
	if pr.merged {
		sender = pr.mergedBy
	}
	s.common(m, rp, sender)
	delete(m, "before")
	delete(m, "after")
	delete(m, "changes")
	switch action {
	case "synchronize":
		before := pr.prevHeadSHA
		if before == "" {
			before = pr.headSHA
		}
		m["before"], m["after"] = before, pr.headSHA
	case "edited":
		m["changes"] = map[string]any{"title": map[string]any{"from": pr.title}}
	}
	return s.marshal(m)
}

// IssueCommentEvent returns an issue_comment "created" payload for comment
// c on pull request n, with issue.pull_request set. A comment written by
// the App has sender planbot[bot] (type Bot) and performed_via_github_app.
func (s *Server) IssueCommentEvent(fullName string, n int, c Comment) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.mustPull(fullName, n)
	m := s.example("issue_comment.created.with-installation")
	m["action"] = "created"
	cm := s.comments[c.ID]
	if cm == nil {
		cm = &comment{id: c.ID, repo: rp, issue: n, user: c.User, body: c.Body, viaApp: c.ViaApp, created: c.CreatedAt, updated: c.UpdatedAt}
	}
	api := s.APIURL() + "repos/" + rp.fullName()
	html := s.srv.URL + "/" + rp.fullName() + "/pull/" + strconv.Itoa(n)
	var mergedAt any
	if pr.merged {
		mergedAt = pr.mergedT.Format(time.RFC3339)
	}
	var closedAt any
	if !pr.closed.IsZero() {
		closedAt = pr.closed.Format(time.RFC3339)
	}
	overlay(m, "issue", map[string]any{
		"url":                api + "/issues/" + strconv.Itoa(n),
		"repository_url":     api,
		"comments_url":       api + "/issues/" + strconv.Itoa(n) + "/comments",
		"html_url":           html,
		"id":                 pr.id,
		"node_id":            nodeID("PR_kwDO", pr.id),
		"number":             n,
		"title":              pr.title,
		"user":               s.userJSON(pr.author),
		"state":              pr.state,
		"locked":             false,
		"draft":              pr.draft,
		"comments":           s.countComments(rp, n),
		"created_at":         pr.created.Format(time.RFC3339),
		"updated_at":         pr.updated.Format(time.RFC3339),
		"closed_at":          closedAt,
		"author_association": s.association(rp, pr.author),
		"body":               nil,
		"pull_request": map[string]any{
			"url":       api + "/pulls/" + strconv.Itoa(n),
			"html_url":  html,
			"diff_url":  html + ".diff",
			"patch_url": html + ".patch",
			"merged_at": mergedAt,
		},
	})
	m["comment"] = s.commentJSON(cm)
	s.common(m, rp, cm.user)
	return s.marshal(m)
}

// ReviewEvent returns a pull_request_review payload (action submitted or
// dismissed) for review id on pull request n; review.state is lower case
// as in real deliveries.
func (s *Server) ReviewEvent(action, fullName string, n int, id int64) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, pr := s.mustPull(fullName, n)
	var rv *review
	for _, r := range pr.reviews {
		if r.id == id {
			rv = r
		}
	}
	if rv == nil {
		s.t.Fatalf("githubfake: no review %d on %s#%d", id, fullName, n)
	}
	ex := "submitted"
	if action == "dismissed" {
		ex = "dismissed"
	}
	m := s.example("pull_request_review." + ex)
	m["action"] = action
	html := fmt.Sprintf("%s/%s/pull/%d#pullrequestreview-%d", s.srv.URL, rp.fullName(), n, rv.id)
	pullURL := fmt.Sprintf("%srepos/%s/pulls/%d", s.APIURL(), rp.fullName(), n)
	var body any
	if rv.body != "" {
		body = rv.body
	}
	overlay(m, "review", map[string]any{
		"id":                 rv.id,
		"node_id":            nodeID("PRR_kwDO", rv.id),
		"user":               s.userJSON(rv.user),
		"body":               body,
		"commit_id":          rv.commitID,
		"submitted_at":       rv.submitted.Format(time.RFC3339),
		"state":              strings.ToLower(rv.state),
		"html_url":           html,
		"pull_request_url":   pullURL,
		"author_association": s.association(rp, rv.user),
		"_links":             map[string]any{"html": map[string]string{"href": html}, "pull_request": map[string]string{"href": pullURL}},
	})
	s.webhookPull(m, rp, pr)
	s.common(m, rp, rv.user)
	return s.marshal(m)
}

// Sign returns GitHub's X-Hub-Signature-256 value for body: "sha256=" and
// the hex HMAC-SHA256 keyed with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// signSHA1 returns the legacy X-Hub-Signature value.
func signSHA1(secret, body []byte) string {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// Delivery is one webhook delivery attempt.
type Delivery struct {
	// ID is the X-GitHub-Delivery GUID, the same for redeliveries.
	ID string
	// AttemptID is the attempt's id in GET /app/hook/deliveries, unique
	// per attempt.
	AttemptID  int64
	Event      string
	URL        string
	Payload    []byte
	Redelivery bool
	// DeliveredAt is when the attempt started, on the fake's clock.
	DeliveredAt time.Time
	// Duration is how long the attempt took.
	Duration time.Duration
	// StatusCode is the response's status, 0 when the request failed.
	StatusCode int
	// Err is the transport error, if any.
	Err    error
	secret string
}

// guid returns a random RFC 4122 version 4 GUID.
func guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Deliver POSTs a webhook payload to url as GitHub does, signed with
// secret ("" sends no signature), and returns the response (its body read
// into memory) and the delivery's GUID. A failed delivery is recorded but
// never retried.
func (s *Server) Deliver(ctx context.Context, url, secret, event string, payload []byte) (*http.Response, string, error) {
	d := Delivery{ID: guid(), Event: event, URL: url, Payload: payload, secret: secret}
	resp, err := s.send(ctx, &d)
	return resp, d.ID, err
}

// Redeliver sends a recorded delivery again, with the same GUID.
func (s *Server) Redeliver(ctx context.Context, deliveryID string) (*http.Response, error) {
	s.mu.Lock()
	var d *Delivery
	for i := range s.deliveries {
		if s.deliveries[i].ID == deliveryID {
			c := s.deliveries[i]
			d = &c
			break
		}
	}
	s.mu.Unlock()
	if d == nil {
		return nil, fmt.Errorf("githubfake: no delivery %s", deliveryID)
	}
	d.Redelivery = true
	d.StatusCode, d.Err = 0, nil
	return s.send(ctx, d)
}

// Deliveries returns every delivery attempt so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// send makes one delivery attempt and records it, with a fresh attempt id
// and the fake's time.
func (s *Server) send(ctx context.Context, d *Delivery) (*http.Response, error) {
	s.mu.Lock()
	d.AttemptID = s.newID()
	d.DeliveredAt = s.now()
	s.mu.Unlock()
	start := time.Now()
	defer func() {
		d.Duration = time.Since(start)
		s.mu.Lock()
		s.deliveries = append(s.deliveries, *d)
		s.mu.Unlock()
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		d.Err = err
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/fake0001")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", "424242")
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(s.appID, 10))
	if d.secret != "" {
		h.Set("X-Hub-Signature-256", Sign([]byte(d.secret), d.Payload))
		h.Set("X-Hub-Signature", signSHA1([]byte(d.secret), d.Payload))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		d.Err = err
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d.StatusCode = resp.StatusCode
	if err != nil {
		d.Err = err
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// PushEvent returns a push payload for branch of a repository, which moved
// from before (all zeros for a new branch) to its current tip; the sender
// is pusher. GitHub's payload also lists the pushed commits; this one holds
// only the head commit's id.
func (s *Server) PushEvent(fullName, branch, before, pusher string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.mustRepo(fullName)
	after := s.resolve(rp, "refs/heads/"+branch)
	if after == "" {
		s.t.Fatalf("githubfake: %s has no branch %s", fullName, branch)
	}
	zero := strings.Repeat("0", 40)
	if before == "" {
		before = zero
	}
	m := map[string]any{
		"ref": "refs/heads/" + branch, "before": before, "after": after,
		"created": before == zero, "deleted": false, "forced": false, "base_ref": nil,
		"compare":     s.srv.URL + "/" + rp.fullName() + "/compare/" + before[:12] + "..." + after[:12],
		"commits":     []any{},
		"head_commit": map[string]any{"id": after, "tree_id": "", "distinct": true},
		"pusher":      map[string]any{"name": pusher, "email": pusher + "@users.noreply.github.com"},
	}
	s.common(m, rp, pusher)
	return s.marshal(m)
}
