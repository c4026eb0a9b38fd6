package event

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/planbot/planbot/githubfake"
)

// FuzzDecode decodes and routes arbitrary payloads of arbitrary events.
// Decode never panics; a delivery it routes is about a repository and a
// pull request (a push or an API release: a repository alone), of an
// event and action that the redeliverer handles too;
// and decoding the same bytes again routes them the same way, since the
// handler routes the payload ingress stored.
func FuzzDecode(f *testing.F) {
	// repoWork reports whether work of kind k is about a repository, not
	// one of its pull requests.
	repoWork := func(k Kind) bool { return k == Prerender || k == Prefetch || k == Release || k == APIRelease }
	// GitHub's captured payloads, and the same patched into work of each
	// kind of the table.
	for name, payload := range githubfake.Captured() {
		ev, _, _ := strings.Cut(name, ".")
		f.Add(ev, payload)
		switch ev {
		case "pull_request":
			f.Add(ev, patch(f, payload, func(m map[string]any) { m["action"] = "edited"; baseChange(m) }))
		case "issue_comment":
			f.Add(ev, patch(f, payload, func(m map[string]any) {
				m["issue"].(map[string]any)["pull_request"] = map[string]any{"url": "https://api.github.com/repos/acme/infra/pulls/1"}
				m["comment"].(map[string]any)["body"] = "/apply -p dev"
			}))
		case "check_run":
			f.Add(ev, patch(f, payload, func(m map[string]any) {
				m["check_run"].(map[string]any)["external_id"] = CheckRunRef{PR: 3, Project: "envs/dev"}.String()
			}))
		}
	}
	f.Add("ping", []byte(`{"zen":"Design for failure.","hook_id":1}`))
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"body":"/plan"},"repository":{"full_name":"a/b"}}`))
	f.Add("pull_request", []byte(`{"action":"opened","number":-1,"repository":{"full_name":"a/b"}}`))
	f.Add("issue_comment", []byte(`{"action":"created","issue":null,"comment":null}`))
	f.Add("push", []byte(`{"ref":"refs/tags/shop/staging/2026/12/02/1030-ana-api","created":true,"after":"0123456789abcdef0123456789abcdef01234567","repository":{"full_name":"a/b"},"installation":{"id":1}}`))
	f.Add(ReleaseEvent, []byte(`{"repo":"a/b","environment":"staging","images":[{"name":"x/y","tag":"1"}],"installation":1}`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		d, err := Decode(name, body)
		if err != nil {
			return
		}
		if d.Event != name {
			t.Errorf("Event = %q, want %q", d.Event, name)
		}
		if d.Work() {
			switch {
			case d.Subject.Repo == "", d.Subject.PR < 0, d.Subject.PR == 0 && !repoWork(d.Kind):
				t.Errorf("routed as %s without a repository and pull request: %+v", d.Kind, d.Subject)
			case !Handles(name, d.Action):
				t.Errorf("routed as %s, yet Handles(%q, %q) is false", d.Kind, name, d.Action)
			case d.Payload == nil:
				t.Errorf("routed as %s without a decoded payload", d.Kind)
			case !strings.HasPrefix(d.Subject.Key(), strings.ToLower(d.Subject.Repo)+"#"):
				t.Errorf("key %q is not of %s", d.Subject.Key(), d.Subject.Repo)
			}
		}
		again, err := Decode(name, body)
		if err != nil {
			t.Fatalf("second decode: %v", err)
		}
		if diff := cmp.Diff(again, d, cmpopts.IgnoreFields(Delivery{}, "Payload")); diff != "" {
			t.Errorf("decoding again routes differently (-again +first):\n%s", diff)
		}
	})
}
