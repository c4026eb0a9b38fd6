package runner

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
)

type fakePages struct{}

func (fakePages) PullURL(repo planbot.Repo, pr int) string {
	return "https://p/" + repo.String() + "/pull"
}
func (fakePages) RunURL(repo planbot.Repo, pr int, run string) string {
	return "https://p/" + repo.String() + "/runs/" + run
}

type fakeLive struct {
	opened []string
	ended  []string
	closed int
}

func (f *fakeLive) Writer(ctx context.Context, repo string, pr int, run, project string) io.WriteCloser {
	f.opened = append(f.opened, repo+" "+run+" "+project)
	return nopCloser{f}
}

func (f *fakeLive) End(ctx context.Context, repo string, pr int, run, outcome string) {
	f.ended = append(f.ended, run+" "+outcome)
}

type nopCloser struct{ f *fakeLive }

func (n nopCloser) Write(p []byte) (int, error) { return len(p), nil }
func (n nopCloser) Close() error                { n.f.closed++; return nil }

// TestLiveLinks checks the links of the comment and the statuses, with and
// without the web page, and that live output is opened, closed and ended
// per run only when there is a live log and a run.
func TestLiveLinks(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "o", Name: "r"}, Number: 3, HTMLURL: "https://github.com/o/r/pull/3"}
	if got := pullURL(nil, pr); got != pr.HTMLURL {
		t.Errorf("pullURL without pages = %q", got)
	}
	if got := runURL(nil, pr, "d1"); got != pr.HTMLURL {
		t.Errorf("runURL without pages = %q", got)
	}
	if pageNote(nil, pr) != nil {
		t.Error("a page note without pages")
	}
	if got := pullURL(fakePages{}, pr); got != "https://p/o/r/pull" {
		t.Errorf("pullURL = %q", got)
	}
	if got := runURL(fakePages{}, pr, "d1"); got != "https://p/o/r/runs/d1" {
		t.Errorf("runURL = %q", got)
	}
	if got := runURL(fakePages{}, pr, ""); got != "https://p/o/r/pull" {
		t.Errorf("runURL without a run = %q", got)
	}
	if n := pageNote(fakePages{}, pr); len(n) != 1 || !strings.Contains(n[0], "(https://p/o/r/pull)") {
		t.Errorf("page note %q", n)
	}

	ctx := t.Context()
	_, closeNone := liveOutput(ctx, nil, pr, "d1", "app")
	closeNone()
	endLive(ctx, nil, pr, "d1", "planned")
	live := &fakeLive{}
	_, closeNoRun := liveOutput(ctx, live, pr, "", "app")
	closeNoRun()
	endLive(ctx, live, pr, "", "planned")
	if len(live.opened)+len(live.ended) != 0 {
		t.Errorf("a live log without a run: %+v", live)
	}
	_, closeIt := liveOutput(ctx, live, pr, "d1", "app")
	closeIt()
	endLive(ctx, live, pr, "d1", "planned")
	if strings.Join(live.opened, ",") != "o/r d1 app" || live.closed != 1 || strings.Join(live.ended, ",") != "d1 planned" {
		t.Errorf("live log %+v", live)
	}
}

// TestApplyStatusLinks checks that the planbot/apply status links to the
// PR's page when there is one, and to the PR on GitHub otherwise: after a
// merge, a refusal and an interrupted apply.
func TestApplyStatusLinks(t *testing.T) {
	pr := planbot.PullRequest{Repo: planbot.Repo{Owner: "o", Name: "r"}, Number: 3, HeadSHA: "h1", BaseRef: "main", State: "open",
		HTMLURL: "https://github.com/o/r/pull/3"}
	req := ApplyRequest{Repo: pr.Repo, Number: 3, Actor: "bob", Delivery: "d1"}
	intent := audit.Entry{Repo: "o/r", PR: 3, HeadSHA: "h1", Project: "envs/dev", Action: audit.ActionApplyRequested, Actor: "bob", DeliveryID: "d0"}
	for _, tt := range []struct {
		name  string
		pages Pages
		want  string
	}{
		{name: "without the web page", want: pr.HTMLURL},
		{name: "with the web page", pages: fakePages{}, want: "https://p/o/r/pull"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &auditLog{}
			a := &Applier{Locks: st, Plans: st, Audit: st, Pages: tt.pages, Logger: slog.New(slog.DiscardHandler)}
			gh := &merger{}
			ctx := t.Context()
			if _, merged := a.merge(ctx, gh, req, pr, "", clearance{}, a.Logger); !merged {
				t.Fatal("not merged")
			}
			a.setStatus(ctx, gh, pr, "failure", "apply refused: no approval", a.Logger)
			a.interrupted(ctx, gh, req, pr, []audit.Entry{intent}, a.Logger)
			if len(gh.targets) != 3 {
				t.Fatalf("statuses %q, want the merge's, the refusal's and the interrupted apply's", gh.statuses)
			}
			for i, got := range gh.targets {
				if got != tt.want {
					t.Errorf("status %q links to %q, want %q", gh.statuses[i], got, tt.want)
				}
			}
		})
	}
}
