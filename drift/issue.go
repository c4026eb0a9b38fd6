package drift

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/audit"
	"github.com/planbot/planbot/comment"
)

// labelColor and labelDescription describe LabelName when planbot creates
// it.
const (
	labelColor       = "d93f0b"
	labelDescription = "planbot found that the default branch no longer matches what runs"
)

// Title returns the title of the drift issue of a project.
func Title(repo planbot.Repo, project string) string {
	return "Drift: " + repo.String() + " " + project
}

// sinceRE reads the hidden line that records when the drift was first
// seen and how many passes saw it.
var sinceRE = regexp.MustCompile(`<!-- planbot:drift since=(\S+) checks=(\d+) -->`)

// tracker reconciles the drift issues of one repository.
type tracker struct {
	gh          GitHub
	bot         string
	repo        planbot.Repo
	issues      []planbot.Issue // labelled LabelName, newest first
	secrets     []string
	unsandboxed bool
	labelled    bool
}

// find returns the project's open issue, or else its newest closed one.
func (t *tracker) find(title string) (planbot.Issue, bool) {
	var closed *planbot.Issue
	for i, is := range t.issues {
		if is.Title != title {
			continue
		}
		if is.State == "open" {
			return is, true
		}
		if closed == nil {
			closed = &t.issues[i]
		}
	}
	if closed != nil {
		return *closed, true
	}
	return planbot.Issue{}, false
}

// reconcile makes the project's issue say what res found at sha, and
// returns its number and the audit action to record ("" for none).
func (t *tracker) reconcile(ctx context.Context, res planbot.Result, sha string, now time.Time) (int, string, error) {
	title := Title(t.repo, res.Project.Name)
	is, found := t.find(title)
	open := found && is.State == "open"
	if res.Status == planbot.StatusNoChange {
		if !open {
			return 0, "", nil
		}
		msg := fmt.Sprintf("✅ No drift any more: `%s` matches `%s` as of %s. Closing.", res.Project.Name, short(sha), stamp(now))
		if _, err := t.gh.CreateComment(ctx, t.repo, is.Number, msg); err != nil {
			return is.Number, "", err
		}
		if err := t.gh.EditIssue(ctx, t.repo, is.Number, planbot.IssueEdit{State: "closed", StateReason: "completed"}); err != nil {
			return is.Number, "", err
		}
		return is.Number, audit.ActionDriftResolved, nil
	}
	since, checks := now, 1
	if open {
		if m := sinceRE.FindStringSubmatch(is.Body); m != nil {
			if t0, err := time.Parse(time.RFC3339, m[1]); err == nil {
				since = t0
			}
			fmt.Sscan(m[2], &checks)
			checks++
		}
	}
	number := 0
	if open || (found && is.ClosedBy != t.bot) {
		number = is.Number
	}
	parts := t.render(res, sha, number, since, checks, now)
	switch {
	case open:
		if err := t.gh.EditIssue(ctx, t.repo, is.Number, planbot.IssueEdit{Body: parts[0]}); err != nil {
			return is.Number, "", err
		}
	case number != 0:
		// A person closed it, but the drift is still there.
		if err := t.gh.EditIssue(ctx, t.repo, is.Number, planbot.IssueEdit{Body: parts[0], State: "open", StateReason: "reopened"}); err != nil {
			return is.Number, "", err
		}
		msg := fmt.Sprintf("🔁 Reopened: `%s` still drifts at `%s` (%s). This issue closes itself once a pass finds no drift; to stop checking the project, set `drift: {enabled: false}` for it in `.planbot.yaml`.", res.Project.Name, short(sha), stamp(now))
		if _, err := t.gh.CreateComment(ctx, t.repo, is.Number, msg); err != nil {
			return is.Number, "", err
		}
	default:
		if !t.labelled {
			if err := t.gh.EnsureLabel(ctx, t.repo, LabelName, labelColor, labelDescription); err != nil {
				return 0, "", err
			}
			t.labelled = true
		}
		created, err := t.gh.CreateIssue(ctx, t.repo, title, parts[0], []string{LabelName})
		if err != nil {
			return 0, "", err
		}
		number = created.Number
		t.issues = append([]planbot.Issue{created}, t.issues...)
		if len(parts) > 1 {
			// The continuation parts carry the issue's number.
			parts = t.render(res, sha, number, since, checks, now)
			if err := t.gh.EditIssue(ctx, t.repo, number, planbot.IssueEdit{Body: parts[0]}); err != nil {
				return number, "", err
			}
		}
	}
	if len(parts) > 1 {
		if err := t.continuation(ctx, number, parts); err != nil {
			return number, "", err
		}
	}
	return number, audit.ActionDriftDetected, nil
}

// render renders the issue body (part 1) and the continuation parts, which
// are posted as the issue's comments.
func (t *tracker) render(res planbot.Result, sha string, number int, since time.Time, checks int, now time.Time) []string {
	r := comment.Report{
		Repo: t.repo, PR: number, HeadSHA: sha, Results: []planbot.Result{res},
		Command: "drift", Checked: now, Unsandboxed: t.unsandboxed,
	}
	what := "Drift first seen"
	if res.Status == planbot.StatusFailed {
		what = "The drift check has failed since"
	}
	r.Notes = []string{fmt.Sprintf("%s %s · last checked %s at `%s` (%s).", what, stamp(since), stamp(now), short(sha), plural(checks, "check"))}
	// Room for the hidden line is left below the limit.
	parts := comment.Render(r, comment.Options{Secrets: t.secrets, Limit: comment.DefaultLimit - 200})
	parts[0] = parts[0] + fmt.Sprintf("\n<!-- planbot:drift since=%s checks=%d -->\n", since.UTC().Format(time.RFC3339), checks)
	return parts
}

// url returns the address of issue number, "" when unknown.
func (t *tracker) url(number int) string {
	for _, is := range t.issues {
		if number != 0 && is.Number == number {
			return is.HTMLURL
		}
	}
	return ""
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// continuation makes the issue's comments hold parts 2 and later, editing
// the ones planbot posted before (found by their marker) and creating the
// missing ones.
func (t *tracker) continuation(ctx context.Context, number int, parts []string) error {
	cs, err := t.gh.ListComments(ctx, t.repo, number)
	if err != nil {
		return err
	}
	existing := map[int]planbot.Comment{}
	for _, c := range cs {
		if n, k, ok := comment.ParseMarker(c.Body); ok && n == number && c.User == t.bot {
			if _, dup := existing[k]; !dup {
				existing[k] = c
			}
		}
	}
	for i, body := range parts[1:] {
		c, ok := existing[i+2]
		switch {
		case ok && c.Body == body:
		case ok:
			if err := t.gh.EditComment(ctx, t.repo, c.ID, body); err != nil {
				return err
			}
		default:
			if _, err := t.gh.CreateComment(ctx, t.repo, number, body); err != nil {
				return err
			}
		}
	}
	return nil
}
