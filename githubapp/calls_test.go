package githubapp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot/githubapp"
	"github.com/planbot/planbot/githubfake"
	"github.com/planbot/planbot/metrics"
)

func TestCallsByStatusClass(t *testing.T) {
	gh := githubfake.New(t)
	gh.CreateRepo("acme/infra", map[string]string{"README.md": "hi\n"})
	gh.AddInstallation(7, "acme/infra")
	calls := githubapp.NewCalls(metrics.New())
	app, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: gh.APIURL(), Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := app.BotLogin(ctx); err != nil { // GET /app: 200
		t.Fatal(err)
	}
	c := app.Installation(7)
	if _, err := c.PullRequest(ctx, repo, 999); err == nil { // a token (201), then 404
		t.Fatal("PullRequest of a missing PR succeeded")
	}
	gh.FailNext(githubfake.Failure{Status: 502, Message: "Server Error"})
	if _, err := c.PullRequest(ctx, repo, 999); err == nil { // 502
		t.Fatal("PullRequest succeeded through a 502")
	}

	// Nothing listens on a port just closed: no answer at all.
	down, err := githubapp.New(githubapp.Options{AppID: gh.AppID(), PrivateKey: gh.PrivateKeyPEM(), APIURL: "http://" + githubfake.FreeAddr(t) + "/", Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.BotLogin(ctx); err == nil {
		t.Fatal("BotLogin reached a closed port")
	}

	got := map[string]float64{}
	for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
		got[class] = calls.Value(class)
	}
	want := map[string]float64{"2xx": 2, "3xx": 0, "4xx": 1, "5xx": 1, "error": 1}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("planbot_github_api_calls_total mismatch (-got +want):\n%s", diff)
	}
}
