package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/store"
)

// evil is text a pull request controls: its title, a project's name (a
// directory), terraform's output.
const evil = `<script>alert("pwned")</script><img src=x onerror=alert(1)>`

// TestNoUnescapedPullText checks that every page escapes what a pull
// request controls.
func TestNoUnescapedPullText(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.gh.Commit(testRepo, "evil", map[string]string{"main.tf": "# x\n"}, nil, "evil")
	pr := e.gh.OpenPR(testRepo, "evil", "main", "alice", "Title "+evil)
	res := planbot.Result{
		Project: planbot.Project{Name: "prj" + evil, Dir: "envs/" + evil}, Status: planbot.StatusFailed,
		Summary: "Plan: " + evil, Output: "  + input = \"" + evil + "\"", Error: "Error: " + evil, Fmt: evil,
		Changes: planbot.Changes{Destroys: []string{"terraform_data." + evil}},
	}
	blob, _ := json.Marshal(res)
	if _, err := e.st.SavePlan(ctx, store.Plan{Repo: testRepo, PR: pr.Number, HeadSHA: pr.HeadSHA, BaseSHA: "b", Project: "prj" + evil,
		Dir: "envs/" + evil, Workspace: "default", Kind: "terraform", Status: "failed", Result: blob}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.AcquireLock(ctx, store.Lock{Repo: testRepo, Dir: "envs/" + evil, Workspace: "default", PR: pr.Number, User: "alice" + evil}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.AppendAudit(ctx, audit.Entry{Repo: testRepo, PR: pr.Number, Project: "prj" + evil, Action: audit.ActionPlan,
		Actor: "alice", Outcome: "failed", Detail: evil, Approvers: []audit.Approver{{Login: "bob" + evil, Rule: evil}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AppendLog(ctx, store.LogChunk{Repo: testRepo, PR: pr.Number, Run: "r1", Project: "prj" + evil, Text: evil + "\n"}); err != nil {
		t.Fatal(err)
	}
	c := e.login("alice")
	pull := "/" + testRepo + "/pull/" + strconv.Itoa(pr.Number)
	for _, p := range []string{"/", pull, "/locks", "/audit", "/audit?" + url.Values{"actor": {evil}, "project": {evil}}.Encode(), pull + "/runs/r1"} {
		page := e.body(c, p, http.StatusOK)
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || strings.Contains(page, `"pwned")</script>`) {
			t.Errorf("%s renders pull request text unescaped:\n%s", p, page)
		}
		if p == pull && (!strings.Contains(page, "Title &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") || !strings.Contains(page, "input = &#34;&lt;script&gt;")) {
			t.Errorf("%s lacks the escaped title or plan output:\n%s", p, page)
		}
	}
	resp, err := c.Get(e.srv.URL + pull + "/runs/r1/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("events Content-Type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q: want scripts from the page's origin only", csp)
	}
}
