package comment

import (
	"fmt"
	"strings"
	"time"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/redact"
)

// DefaultLimit is GitHub's maximum comment body length, in characters
// (Unicode code points).
const DefaultLimit = 65536

// MinLimit is the smallest part size Render works with; a smaller
// Options.Limit is raised to it.
const MinLimit = 2000

// headroom is left free in every part, below the limit.
const headroom = 64

// Report is what one plan comment shows: the results of one command run on
// one head commit of a pull request.
type Report struct {
	Repo planbot.Repo
	PR   int
	// HeadSHA is the commit the results are for, and HeadURL a link to it.
	HeadSHA string
	HeadURL string
	Results []planbot.Result
	// Notes are shown above the projects, one line each (for example a
	// configuration error or a deleted directory).
	Notes []string
	// Command is "plan" (the default), "apply" or "drift"; it sets the
	// wording. A drift report is the body of a drift issue: one project
	// planned at the default branch's head, whose changes are drift.
	Command string
	// Checked is when a drift report's plan ran.
	Checked time.Time
	// Error is set when planbot could not get as far as planning projects
	// (an invalid .planbot.yaml, an unreadable PR); it is shown open,
	// above everything else.
	Error string
	// Approvals, when set, says whose approval /apply will need.
	Approvals *Approvals
	// Unsandboxed reports that terraform ran without the sandbox
	// (--sandbox=off); the comment's footer says so.
	Unsandboxed bool
}

// UnsandboxedFooter is the footer of a comment whose plans ran without the
// sandbox.
const UnsandboxedFooter = "⚠️ These plans ran **unsandboxed** (`--sandbox=off`): the code being planned could read anything planbot's user can."

// Approvals describes the approvals /apply needs under the base branch's
// CODEOWNERS: one approval at the head commit from an owner of each rule.
type Approvals struct {
	// File is the CODEOWNERS file ("" when the base branch has none).
	File string
	// Rules lists the owning rules of the changed files, in file order;
	// when it is empty, one approval from anyone with write access is
	// needed.
	Rules []ApprovalRule
}

// ApprovalRule is one CODEOWNERS rule that owns changed files.
type ApprovalRule struct {
	Line   int
	Owners []string
	Files  []string
}

// Options control how a Report is rendered.
type Options struct {
	// Limit is the maximum number of runes in one part. Zero means
	// DefaultLimit; values below MinLimit are raised to MinLimit.
	Limit int
	// MaxOutputRunes caps each text of one project (plan output, fmt
	// diff, error, resource diff). A longer text keeps its first two
	// thirds and its last third, around a "… N lines omitted …" line.
	// Zero means twice the limit.
	MaxOutputRunes int
	// Secrets are values masked wherever they appear (see redact.String).
	Secrets []string
}

func (o Options) withDefaults() Options {
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	o.Limit = max(o.Limit, MinLimit)
	if o.MaxOutputRunes <= 0 {
		o.MaxOutputRunes = 2 * o.Limit
	}
	return o
}

// Marker returns the hidden marker that starts part k of the plan comment
// of pull request pr.
func Marker(pr, k int) string {
	return fmt.Sprintf("<!-- planbot:plan pr=%d part=%d -->", pr, k)
}

// Render renders a report as the bodies of one or more comments, in order.
// It always returns at least one part, and no part is empty or longer than
// opts.Limit runes. Part 1 holds the verdict, the summary table with every
// project, the head SHA and the next commands; the project sections follow
// and continue in further parts when needed. Everything is passed through
// redact.String with opts.Secrets.
func Render(r Report, opts Options) []string {
	opts = opts.withDefaults()
	if r.Command == "" {
		r.Command = "plan"
	}
	r = redactReport(r, opts.Secrets)
	budget := opts.Limit - headroom

	// The headers are sized with the widest part label they can carry.
	const wide = 9999
	first := firstHeader(r, 1, wide, budget)
	cont := contHeader(r, wide, wide)
	sp := newSplitter(budget, linesCost(first), linesCost(cont))
	if r.Error != "" {
		sp.addSection(errorSection(r.Error, opts))
	}
	if len(r.Notes) > 0 {
		sp.addSection(notesSection(r.Notes))
	}
	if r.Approvals != nil && r.Command != "apply" {
		sp.addSection(approvalsSection(*r.Approvals))
	}
	for _, res := range r.Results {
		sp.addSection(projectSection(r, res, opts))
	}
	if r.Unsandboxed {
		var s section
		s.line("---", UnsandboxedFooter, "")
		sp.addSection(s)
	}
	bodies := sp.finish()

	m := len(bodies)
	parts := make([]string, 0, m)
	for i, body := range bodies {
		k := i + 1
		var head []string
		if k == 1 {
			head = firstHeader(r, k, m, budget)
		} else {
			head = contHeader(r, k, m)
		}
		lines := append(head, body...)
		for len(lines) > 1 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		parts = append(parts, redact.String(strings.Join(lines, "\n")+"\n", opts.Secrets))
	}
	return parts
}

// redactReport masks secrets in every text of r, before it is cut into
// parts, so that a secret spanning a part boundary is masked too.
func redactReport(r Report, secrets []string) Report {
	red := func(s string) string { return redact.String(s, secrets) }
	notes := make([]string, len(r.Notes))
	for i, n := range r.Notes {
		notes[i] = red(n)
	}
	r.Notes = notes
	r.Error = red(r.Error)
	results := make([]planbot.Result, len(r.Results))
	for i, res := range r.Results {
		res.Summary = red(res.Summary)
		res.Output = red(res.Output)
		res.Fmt = red(res.Fmt)
		res.Error = red(res.Error)
		if res.Manifest != nil {
			m := *res.Manifest
			m.Resources = make([]planbot.ResourceChange, len(res.Manifest.Resources))
			for j, rc := range res.Manifest.Resources {
				rc.Diff = red(rc.Diff)
				m.Resources[j] = rc
			}
			res.Manifest = &m
		}
		results[i] = res
	}
	r.Results = results
	return r
}
