package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/store"
)

// memQueue keeps the jobs it is given in memory.
type memQueue struct {
	mu   sync.Mutex // mu guards the field below.
	jobs []store.Job
}

func (q *memQueue) EnqueueDelivery(ctx context.Context, j store.Job) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return true, nil
}

// keyPattern is the key of a job: one pull request of one repository.
var keyPattern = regexp.MustCompile(`^[^#\s]+#[1-9][0-9]*$`)

// FuzzReceive posts arbitrary signed payloads of arbitrary events. The
// handler never fails on them (a panic would be answered 500), and a payload
// it stores as a job is about a repository's pull request.
func FuzzReceive(f *testing.F) {
	for name, payload := range githubfake.Captured() {
		ev, _, _ := strings.Cut(name, ".")
		f.Add(ev, payload)
	}
	f.Add("ping", []byte(`{"zen":"Non-blocking is better than blocking.","hook_id":1}`))
	f.Add("pull_request", []byte(`{"action":"opened","number":7,"repository":{"full_name":"Acme/Infra"}}`))
	f.Add("", []byte(`{}`))
	// Logs are discarded: the fuzzer makes millions of requests.
	q := &memQueue{}
	h := NewEngine(&Handler{Secret: []byte(secret), Queue: q, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if strings.ContainsAny(name, "\r\n") {
			return // not a header value
		}
		q.mu.Lock()
		q.jobs = nil
		q.mu.Unlock()
		rec := post(t, h, name, "fuzz", body, sign(body))
		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest:
		default:
			t.Fatalf("status %d (%s) for a signed %q delivery", rec.Code, rec.Body, name)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if len(q.jobs) > 0 && rec.Code != http.StatusAccepted {
			t.Errorf("job stored, yet answered %d", rec.Code)
		}
		for _, j := range q.jobs {
			if !keyPattern.MatchString(j.Key) {
				t.Errorf("job key %q names no repository and pull request", j.Key)
			}
			if j.Event != name || j.DeliveryID != "fuzz" || !bytes.Equal(j.Payload, body) {
				t.Errorf("job %+v does not keep the delivery as it came", j)
			}
		}
	})
}

// FuzzValidSignature checks signatures of arbitrary bodies under arbitrary
// secrets: a signature validates only when it is the body's HMAC under the
// secret, the body's signature under the secret always validates, and one
// under another secret never does.
func FuzzValidSignature(f *testing.F) {
	f.Add([]byte(secret), []byte("Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	f.Add([]byte(secret), []byte("Hello, World!"), "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17")
	f.Add([]byte(secret), []byte("Hello, World!"), "sha1=01")
	f.Add([]byte{}, []byte("{}"), "sha256=")
	body := githubfake.Captured()["pull_request.opened"]
	f.Add([]byte(secret), body, sign(body))
	f.Fuzz(func(t *testing.T, key, body []byte, header string) {
		m := hmac.New(sha256.New, key)
		m.Write(body)
		mac := m.Sum(nil)
		if ValidSignature(key, body, header) {
			got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
			if len(key) == 0 || !strings.HasPrefix(header, "sha256=") || err != nil || !bytes.Equal(got, mac) {
				t.Fatalf("signature %q of a body not signed with the secret validated", header)
			}
		}
		signed := githubfake.Sign(key, body)
		if len(key) > 0 && !ValidSignature(key, body, signed) {
			t.Errorf("the body's own signature %q does not validate", signed)
		}
		if other := append(bytes.Clone(key), 'x'); ValidSignature(other, body, signed) {
			t.Errorf("a signature under secret %q validated under %q", key, other)
		}
	})
}
