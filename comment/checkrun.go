package comment

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/redact"
)

// CheckLimit is the Checks API's limit on a check run's output.summary and
// output.text. GitHub counts it in characters for some texts and in UTF-8
// bytes for others; planbot keeps to bytes, which satisfies both.
const CheckLimit = 65535

// checkCut ends a check run text that was cut to fit CheckLimit.
const checkCut = "… (cut to fit the check run; the plan comment on the pull request has all of it)"

// CheckTitle returns the summary line of one project's result, the
// output.title of its check run: the engine, and what the plan (or apply)
// does, counted as in the comment's table.
func CheckTitle(res planbot.Result) string {
	engine := EngineName(res.Project)
	what := "plan"
	if res.Manifest != nil {
		what = "diff"
	}
	switch res.Status {
	case planbot.StatusFailed:
		return engine + " " + what + " failed"
	case planbot.StatusLocked:
		return fmt.Sprintf("Locked by #%d", res.LockedBy)
	case planbot.StatusDeleted:
		return "Deleted on the head branch: nothing to plan"
	case planbot.StatusNoChange:
		return engine + " " + what + ": no changes"
	case planbot.StatusApplied:
		what = "apply"
	}
	var counts string
	if m := res.Manifest; m != nil {
		counts = fmt.Sprintf("%d added, %d changed, %d removed", m.Added, m.Changed, m.Removed)
	} else {
		add, change, destroy, replace := planCounts(res.Changes)
		counts = fmt.Sprintf("%d to add, %d to change, %d to destroy", add, change, destroy)
		if replace > 0 {
			counts += fmt.Sprintf(" (%d replaced)", replace)
		}
	}
	if res.Status == planbot.StatusApplied {
		return engine + " applied: " + counts
	}
	if destroys(res) {
		counts += " — destroys resources"
	}
	return engine + " " + what + ": " + counts
}

// CheckConclusion returns the conclusion of a project's check run: success
// for a plan with changes (or an apply), neutral when there is nothing to
// apply, failure when the project could not be planned (it failed, or
// another pull request holds its lock).
func CheckConclusion(res planbot.Result) string {
	switch res.Status {
	case planbot.StatusPlanned, planbot.StatusApplied:
		return "success"
	case planbot.StatusNoChange, planbot.StatusDeleted:
		return "neutral"
	}
	return "failure"
}

// CheckSummary renders the section the plan comment shows for one project
// (its counts, what it destroys, replaces, moves and imports, formatting
// problems, errors) as a check run's output.summary, without the plan
// itself, which CheckText renders. It is redacted like the comment and at
// most CheckLimit bytes; a longer section is cut on its line and block
// boundaries by the comment's splitter.
func CheckSummary(res planbot.Result, opts Options) string {
	opts = opts.withDefaults()
	r := redactReport(Report{Results: []planbot.Result{res}, Command: "plan"}, opts.Secrets)
	res = r.Results[0]
	res.Output = ""
	if res.Status == planbot.StatusApplied {
		r.Command = "apply"
	}
	s := projectSection(r, res, opts)
	if res.Status == planbot.StatusPlanned {
		s.line("The **Apply** button above does the same, as you, through the same checks.", "")
	}
	return fitCheck(s, opts.Secrets)
}

// CheckText renders the plan output of one project in a diff code block,
// as the comment does, for a check run's output.text: redacted, and cut to
// CheckLimit bytes on line boundaries, keeping the plan's start and its
// end (where terraform counts the changes). It is "" when the result has
// no output.
func CheckText(res planbot.Result, opts Options) string {
	opts = opts.withDefaults()
	r := redactReport(Report{Results: []planbot.Result{res}}, opts.Secrets)
	out := r.Results[0].Output
	if out == "" {
		return ""
	}
	// capText keeps the head and the tail of the plan; the splitter then
	// closes the code block within the limit. When the block still does
	// not fit in one part (multi-byte text, the line capText adds), the
	// rune budget shrinks, in a few rounds.
	runes := CheckLimit - headroom - utf8.RuneCountInString(checkCut) - 256
	for {
		var s section
		fencedLines(&s, "diff", capText(out, runes), planDiffLine)
		text, whole := fitSection(s, opts.Secrets)
		if (whole && len(text) <= CheckLimit) || runes < MinLimit {
			return clipBytes(text, CheckLimit)
		}
		shrink := runes / 20
		if len(text) > CheckLimit {
			shrink = max(shrink, runes-runes*CheckLimit/len(text)+64)
		}
		runes -= shrink
	}
}

// refusalEnd ends the refusal on top of a check run's summary.
const refusalEnd = "<!-- planbot:refusal -->"

// CheckRefused returns a check run's output.summary with a refusal on top:
// what was refused ("Apply"), the person who clicked the check run's
// button, why planbot refused, and then the summary the check run had. It
// is redacted and at most CheckLimit bytes; the old summary is cut when
// both do not fit. An earlier refusal on top of summary is replaced.
func CheckRefused(what, user, reason, summary string, secrets []string) string {
	// A refusal replaces an earlier one.
	if i := strings.Index(summary, refusalEnd); i >= 0 && strings.HasPrefix(summary, "### 🚫") {
		summary = strings.TrimLeft(summary[i+len(refusalEnd):], "\n")
	}
	head := fmt.Sprintf("### 🚫 %s refused\n\n@%s: %s\n\n---\n%s\n\n", what, user, strings.TrimSpace(reason), refusalEnd)
	head = redact.String(head, secrets)
	summary = redact.String(summary, secrets)
	if len(head)+len(summary) > CheckLimit {
		summary = clipBytes(summary, CheckLimit-len(head))
	}
	return clipBytes(head+summary, CheckLimit)
}

// fitCheck lays a section out in one part of at most CheckLimit bytes with
// the comment's splitter, cutting it at a line and closing its open blocks
// when it does not fit, and redacts it.
func fitCheck(s section, secrets []string) string {
	text, _ := fitSection(s, secrets)
	return text
}

// fitSection is fitCheck, and reports whether the whole section fit.
func fitSection(s section, secrets []string) (string, bool) {
	budget := CheckLimit - headroom - utf8.RuneCountInString(checkCut) - 1
	for {
		sp := newSplitter(budget, 0, 0)
		sp.addSection(s)
		parts := sp.finish()
		lines := parts[0]
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		text := strings.Join(lines, "\n") + "\n"
		if len(parts) > 1 {
			text += "\n" + checkCut + "\n"
		}
		text = redact.String(text, secrets)
		if len(text) <= CheckLimit || budget < MinLimit {
			return clipBytes(text, CheckLimit), len(parts) == 1 && len(text) <= CheckLimit
		}
		// Multi-byte text: fewer runes fit in the bytes.
		budget = budget*CheckLimit/len(text) - 64
	}
}

// clipBytes returns s cut to at most n bytes, at the last line boundary
// that fits (or a rune boundary when no line does).
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for len(cut) > 0 && !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i+1]
	}
	return cut
}

// CheckFit returns markdown redacted and cut to CheckLimit bytes at a line
// boundary, for a check run text that is not a plan (an apply's reply).
func CheckFit(markdown string, secrets []string) string {
	return clipBytes(redact.String(markdown, secrets), CheckLimit)
}
