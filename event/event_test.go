package event

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v62/github"

	"github.com/planbot/planbot/githubfake"
)

// testRepo is the repository of the fake's payloads, and installation the
// App installation that has it.
const (
	testRepo     = "acme/infra"
	installation = 7
)

// newFake returns a fake GitHub with testRepo and its pull request #1,
// whose payloads are GitHub's captured examples patched to its state.
func newFake(t testing.TB) *githubfake.Server {
	t.Helper()
	s := githubfake.New(t)
	s.CreateRepo(testRepo, map[string]string{"main.tf": "# base\n"})
	s.AddInstallation(installation, testRepo)
	s.Commit(testRepo, "change", map[string]string{"main.tf": "# change\n"}, nil, "change")
	s.OpenPR(testRepo, "change", "main", "alice", "Change")
	return s
}

// patch decodes a payload, lets f change it and encodes it again.
func patch(t testing.TB, payload []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// baseChange makes a pull_request edited payload one that changed the base
// branch, as GitHub sends it.
func baseChange(m map[string]any) {
	m["changes"] = map[string]any{"base": map[string]any{
		"ref": map[string]any{"from": "release"},
		"sha": map[string]any{"from": "0123456789abcdef0123456789abcdef01234567"},
	}}
}

func TestDecode(t *testing.T) {
	s := newFake(t)
	pr := func(action string) []byte { return s.PullRequestEvent(action, testRepo, 1) }
	comment := func(user, body string) []byte {
		return s.IssueCommentEvent(testRepo, 1, s.AddComment(testRepo, 1, user, body))
	}
	subject := Subject{Repo: testRepo, PR: 1, Installation: installation}
	head := s.PR(testRepo, 1).HeadSHA
	ours := s.AddCheckRun(testRepo, githubfake.CheckRun{
		Name: "planbot plan: envs/dev", HeadSHA: head, ExternalID: CheckRunRef{PR: 1, Project: "envs/dev"}.String(),
		Actions: []githubfake.CheckAction{{Label: "Apply", Description: "Apply", Identifier: "apply"}},
	})
	theirs := s.AddCheckRun(testRepo, githubfake.CheckRun{Name: "ci / test", HeadSHA: head, ExternalID: "build-17"})
	checkRun := func(action string, id int64, identifier string) []byte {
		return s.CheckRunEvent(action, testRepo, id, "bob", identifier)
	}
	bot := s.IssueCommentEvent(testRepo, 1, githubfake.Comment{ID: 42, User: s.BotLogin(), Body: "/apply", ViaApp: true})
	s.CreateTag(testRepo, "shop/staging/2026/12/02/1030-ana-api", "main", true, "ana")
	tagPush := s.TagPushEvent(testRepo, "shop/staging/2026/12/02/1030-ana-api", "ana")

	type want struct {
		Action  string
		Kind    Kind
		Subject Subject
		Typed   bool // the payload was decoded into its go-github type
	}
	tests := []struct {
		name    string
		event   string
		payload []byte
		want    want
	}{
		{name: "opened", event: "pull_request", payload: pr("opened"), want: want{"opened", Plan, subject, true}},
		{name: "synchronize", event: "pull_request", payload: pr("synchronize"), want: want{"synchronize", Plan, subject, true}},
		{name: "reopened", event: "pull_request", payload: pr("reopened"), want: want{"reopened", Plan, subject, true}},
		{name: "ready for review", event: "pull_request", payload: pr("ready_for_review"), want: want{"ready_for_review", Plan, subject, true}},
		{name: "closed", event: "pull_request", payload: pr("closed"), want: want{"closed", Close, subject, true}},
		{name: "base changed", event: "pull_request", payload: patch(t, pr("edited"), baseChange), want: want{"edited", Replan, subject, true}},
		{name: "title edited", event: "pull_request", payload: pr("edited"), want: want{Action: "edited", Typed: true}},
		{name: "converted to draft", event: "pull_request", payload: pr("converted_to_draft"), want: want{Action: "converted_to_draft", Typed: true}},
		{name: "labeled", event: "pull_request", payload: pr("labeled"), want: want{Action: "labeled", Typed: true}},
		{
			name: "no repository", event: "pull_request",
			payload: patch(t, pr("opened"), func(m map[string]any) { delete(m, "repository") }),
			want:    want{Action: "opened", Typed: true},
		},
		{
			name: "no number", event: "pull_request",
			payload: patch(t, pr("opened"), func(m map[string]any) { delete(m, "number") }),
			want:    want{Action: "opened", Typed: true},
		},
		{name: "command", event: "issue_comment", payload: comment("bob", "/plan"), want: want{"created", Command, subject, true}},
		{name: "command after blank lines", event: "issue_comment", payload: comment("bob", "\n  /apply -p dev"), want: want{"created", Command, subject, true}},
		{name: "unknown command is still a command", event: "issue_comment", payload: comment("bob", "/aply"), want: want{"created", Command, subject, true}},
		{name: "conversation", event: "issue_comment", payload: comment("bob", "looks good, /apply later"), want: want{Action: "created", Typed: true}},
		{name: "planbot's own comment", event: "issue_comment", payload: bot, want: want{Action: "created", Typed: true}},
		{
			name: "comment by a bot sent for a person", event: "issue_comment",
			payload: patch(t, bot, func(m map[string]any) { m["sender"] = map[string]any{"login": "bob", "type": "User"} }),
			want:    want{Action: "created", Typed: true},
		},
		{
			name: "comment on an issue", event: "issue_comment",
			payload: patch(t, comment("bob", "/plan"), func(m map[string]any) { delete(m["issue"].(map[string]any), "pull_request") }),
			want:    want{Action: "created", Typed: true},
		},
		{
			name: "edited comment", event: "issue_comment",
			payload: patch(t, comment("bob", "/plan"), func(m map[string]any) { m["action"] = "edited" }),
			want:    want{Action: "edited", Typed: true},
		},
		{name: "review", event: "pull_request_review", payload: s.ReviewEvent("submitted", testRepo, 1, s.SubmitReview(testRepo, 1, "bob", "APPROVED", s.PR(testRepo, 1).HeadSHA)), want: want{Action: "submitted"}},
		{name: "ping", event: "ping", payload: []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)},
		{name: "push to the default branch", event: "push", payload: s.PushEvent(testRepo, "main", "", "alice"), want: want{Kind: Prerender, Subject: Subject{Repo: testRepo, Installation: installation}, Typed: true}},
		{name: "Apply button", event: "check_run", payload: checkRun("requested_action", ours, "apply"), want: want{"requested_action", CheckAction, subject, true}},
		{name: "button without identifier", event: "check_run", payload: checkRun("requested_action", ours, ""), want: want{Action: "requested_action", Typed: true}},
		{name: "check run re-run", event: "check_run", payload: checkRun("rerequested", ours, ""), want: want{"rerequested", Rerun, subject, true}},
		{name: "another App's check run re-run", event: "check_run", payload: checkRun("rerequested", theirs, ""), want: want{Action: "rerequested", Typed: true}},
		{name: "check run created", event: "check_run", payload: checkRun("created", ours, ""), want: want{Action: "created", Typed: true}},
		{name: "check suite re-run", event: "check_suite", payload: s.CheckSuiteEvent("rerequested", testRepo, head, "bob"), want: want{"rerequested", Rerun, subject, true}},
		{
			name: "check suite of a fork's branch", event: "check_suite",
			payload: patch(t, s.CheckSuiteEvent("rerequested", testRepo, head, "bob"), func(m map[string]any) {
				m["check_suite"].(map[string]any)["pull_requests"] = []any{}
			}),
			want: want{Action: "rerequested", Typed: true},
		},
		{name: "push that creates another branch", event: "push", payload: s.PushEvent(testRepo, "change", "", "alice"), want: want{Kind: Prefetch, Subject: Subject{Repo: testRepo, Installation: installation}, Typed: true}},
		{name: "push to another branch", event: "push", payload: s.PushEvent(testRepo, "change", s.Branch(testRepo, "main"), "alice"), want: want{Typed: true}},
		{
			name: "another branch deleted", event: "push",
			payload: patch(t, s.PushEvent(testRepo, "change", "", "alice"), func(m map[string]any) {
				m["deleted"], m["after"] = true, "0000000000000000000000000000000000000000"
			}),
			want: want{Typed: true},
		},
		{
			name: "default branch deleted", event: "push",
			payload: patch(t, s.PushEvent(testRepo, "main", "", "alice"), func(m map[string]any) {
				m["deleted"], m["after"] = true, "0000000000000000000000000000000000000000"
			}),
			want: want{Typed: true},
		},
		{
			name: "tag named like the default branch", event: "push",
			payload: patch(t, s.PushEvent(testRepo, "main", "", "alice"), func(m map[string]any) { m["ref"] = "refs/tags/main" }),
			want:    want{Kind: Release, Subject: Subject{Repo: testRepo, Installation: installation}, Typed: true},
		},
		{name: "tag created", event: "push", payload: tagPush, want: want{Kind: Release, Subject: Subject{Repo: testRepo, Installation: installation}, Typed: true}},
		{
			name: "tag moved", event: "push",
			payload: patch(t, tagPush, func(m map[string]any) { m["created"], m["before"] = false, s.Branch(testRepo, "main") }),
			want:    want{Typed: true},
		},
		{
			name: "tag deleted", event: "push",
			payload: patch(t, tagPush, func(m map[string]any) {
				m["created"], m["deleted"], m["after"] = false, true, "0000000000000000000000000000000000000000"
			}),
			want: want{Typed: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(tt.event, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			got := want{Action: d.Action, Kind: d.Kind, Subject: d.Subject, Typed: d.Payload != nil}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Decode(%s) (-got +want):\n%s", tt.event, diff)
			}
			if d.Work() != (tt.want.Kind != "") {
				t.Errorf("Work() = %v, want %v", d.Work(), tt.want.Kind != "")
			}
			if d.Work() && !Handles(tt.event, d.Action) {
				t.Errorf("routed as %s, yet Handles(%s, %s) is false", d.Kind, tt.event, d.Action)
			}
			t.Logf("%s %s: kind %q, key %q", tt.event, d.Action, d.Kind, d.Subject.Key())
		})
	}
}

// TestDecodeTypes checks that each kind of work carries the payload its
// flow reads.
func TestDecodeTypes(t *testing.T) {
	s := newFake(t)
	d, err := Decode("pull_request", s.PullRequestEvent("opened", testRepo, 1))
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := d.Payload.(*github.PullRequestEvent); !ok || ev.GetPullRequest().GetUser().GetLogin() != "alice" {
		t.Errorf("pull_request payload = %T, author %q", d.Payload, ev.GetPullRequest().GetUser().GetLogin())
	}
	d, err = Decode("issue_comment", s.IssueCommentEvent(testRepo, 1, s.AddComment(testRepo, 1, "bob", "/plan")))
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := d.Payload.(*github.IssueCommentEvent); !ok || ev.GetComment().GetBody() != "/plan" {
		t.Errorf("issue_comment payload = %T, body %q", d.Payload, ev.GetComment().GetBody())
	}
}

// TestCheckRunRef checks that an external_id planbot writes reads back,
// and that other Apps' do not.
func TestCheckRunRef(t *testing.T) {
	for _, ref := range []CheckRunRef{{PR: 1, Project: "envs/dev"}, {PR: 4242, Project: "a b&c=d/é"}} {
		got, ok := ParseCheckRunRef(ref.String())
		if !ok || got != ref {
			t.Errorf("ParseCheckRunRef(%q) = %+v, %v; want %+v", ref.String(), got, ok, ref)
		}
	}
	for _, id := range []string{"", "build-17", "pr=0&project=x", "pr=-3&project=x", "pr=2", "project=x", "pr=2&project=", "pr=2&project=x&more=1", "pr=2&pr=3&project=x", "pr=two&project=x", "%zz"} {
		if got, ok := ParseCheckRunRef(id); ok {
			t.Errorf("ParseCheckRunRef(%q) = %+v, want not planbot's", id, got)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, tt := range []struct{ event, payload string }{
		{"pull_request", `{"action":`},
		{"pull_request", `{"action":"opened","number":"seven"}`},
		{"pull_request", `[]`},
		{"issue_comment", `"created"`},
		{"ping", `{"zen":`},
		{"made_up_event", `[1, 2]`},
		{"made_up_event", ``},
	} {
		if d, err := Decode(tt.event, []byte(tt.payload)); err == nil {
			t.Errorf("Decode(%s, %s) = %+v, want an error", tt.event, tt.payload, d)
		} else {
			t.Logf("Decode(%s, %s): %v", tt.event, tt.payload, err)
		}
	}
}

func TestHandles(t *testing.T) {
	var got []string
	for _, ev := range []string{"pull_request", "issue_comment", "pull_request_review", "ping", "push", "check_run", "check_suite"} {
		for _, action := range []string{"opened", "synchronize", "reopened", "ready_for_review", "closed", "edited", "labeled", "converted_to_draft", "created", "deleted", "submitted", "", "requested_action", "rerequested", "requested", "completed"} {
			if Handles(ev, action) {
				got = append(got, ev+"."+action)
			}
		}
	}
	want := []string{
		"pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review",
		"pull_request.closed", "pull_request.edited", "issue_comment.created", "push.",
		"check_run.requested_action", "check_run.rerequested", "check_suite.rerequested",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("handled events (-got +want):\n%s", diff)
	}
}

// TestTable checks the table's own rules: every row is complete, and two
// rows take the same event and action only when both have a predicate.
func TestTable(t *testing.T) {
	seen := map[string]int{}
	rows := Table()
	for i, r := range Table() {
		if r.Event == "" || len(r.Actions) == 0 || r.Subject == nil || r.Kind == "" {
			t.Errorf("row %d is incomplete: %+v", i, r)
		}
		if !Known(r.Event) {
			t.Errorf("row %d: Known(%s) is false", i, r.Event)
		}
		for _, a := range r.Actions {
			k := fmt.Sprintf("%s.%s", r.Event, a)
			if j, ok := seen[k]; ok && (rows[j].When == nil || r.When == nil) {
				t.Errorf("rows %d and %d both take %s, not both with a predicate", j, i, k)
			}
			seen[k] = i
		}
	}
}
