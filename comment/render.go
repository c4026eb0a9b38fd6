package comment

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	// Command is "plan" (the default) or "apply"; it sets the wording.
	Command string
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

// tally counts the results of a report.
type tally struct {
	total, changed, unchanged, failed, locked, deleted, applied int
	add, change, destroy, replace                               int
	resources                                                   int // Kubernetes resources that differ
	destroys                                                    bool
}

func count(results []planbot.Result) tally {
	var t tally
	t.total = len(results)
	for _, res := range results {
		switch res.Status {
		case planbot.StatusPlanned:
			t.changed++
		case planbot.StatusNoChange:
			t.unchanged++
		case planbot.StatusFailed:
			t.failed++
		case planbot.StatusLocked:
			t.locked++
		case planbot.StatusDeleted:
			t.deleted++
		case planbot.StatusApplied:
			t.applied++
		}
		if res.Status != planbot.StatusPlanned && res.Status != planbot.StatusApplied {
			continue
		}
		if m := res.Manifest; m != nil {
			t.resources += m.Added + m.Changed + m.Removed
		} else {
			add, change, destroy, replace := planCounts(res.Changes)
			t.add += add
			t.change += change
			t.destroy += destroy
			t.replace += replace
		}
		if destroys(res) {
			t.destroys = true
		}
	}
	return t
}

// planCounts returns the counts of c as terraform's "Plan:" line counts
// them: a replaced resource is one to add and one to destroy. replace
// says how many of those are replacements.
func planCounts(c planbot.Changes) (add, change, destroy, replace int) {
	return c.Add + c.Replace, c.Change, c.Destroy + c.Replace, c.Replace
}

// destroys reports whether a result deletes or replaces anything.
func destroys(res planbot.Result) bool {
	if res.Manifest != nil {
		return res.Manifest.Removed > 0
	}
	return res.Changes.Destroy > 0 || res.Changes.Replace > 0 || len(res.Changes.Destroys) > 0 || len(res.Changes.Replaces) > 0
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// verdict returns the one-line verdict for the whole pull request.
func verdict(r Report) string {
	t := count(r.Results)
	apply := r.Command == "apply"
	switch {
	case r.Error != "":
		return "❌ planbot could not " + r.Command + " this pull request"
	case t.total == 0:
		if apply {
			return "ℹ️ No projects to apply in this pull request"
		}
		return "ℹ️ No Terraform or Kustomize projects changed in this pull request"
	case t.failed > 0:
		if apply {
			return fmt.Sprintf("❌ %d of %s failed to apply", t.failed, plural(t.total, "project"))
		}
		return fmt.Sprintf("❌ %d of %s failed", t.failed, plural(t.total, "project"))
	case t.locked > 0:
		return fmt.Sprintf("🔒 %d of %s locked by other pull requests", t.locked, plural(t.total, "project"))
	case apply:
		return fmt.Sprintf("✅ %s applied", plural(t.applied, "project"))
	case t.changed == 0:
		return fmt.Sprintf("✅ No changes in %s", plural(t.total, "project"))
	}
	icon := "✅"
	if t.destroys {
		icon = "⚠️"
	}
	var what []string
	if t.add+t.change+t.destroy+t.replace > 0 || t.resources == 0 {
		s := fmt.Sprintf("%d to add, %d to change, %d to destroy", t.add, t.change, t.destroy)
		if t.replace > 0 {
			s += fmt.Sprintf(" (%d replaced: counted in add and destroy)", t.replace)
		}
		what = append(what, s)
	}
	if t.resources > 0 {
		what = append(what, plural(t.resources, "Kubernetes resource")+" changed")
	}
	v := fmt.Sprintf("%s %s planned: %s", icon, plural(t.changed, "project"), strings.Join(what, "; "))
	if n := t.total - t.changed; n > 0 {
		v += fmt.Sprintf(" (%d more without changes)", n)
	}
	if t.destroys {
		v += " — destroys resources"
	}
	return v
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func headLink(r Report) string {
	s := codeSpan(shortSHA(r.HeadSHA))
	if r.HeadSHA == "" {
		s = "(unknown commit)"
	}
	if r.HeadURL != "" {
		s = "[" + s + "](" + r.HeadURL + ")"
	}
	return s
}

func partLabel(k, m int) string {
	if m <= 1 {
		return ""
	}
	return fmt.Sprintf(" · part %d/%d", k, m)
}

// firstHeader returns the lines that open part 1. When the summary table
// does not fit in most of a part, its last rows are replaced by one line
// counting them.
func firstHeader(r Report, k, m, budget int) []string {
	head := []string{Marker(r.PR, k), "## " + verdict(r), ""}
	var tail []string
	verb := "Planned"
	if r.Command == "apply" {
		verb = "Applied"
	}
	tail = append(tail, "", verb+" on "+headLink(r)+partLabel(k, m))
	if hint := nextHint(r); hint != "" {
		tail = append(tail, "", hint)
	}
	tail = append(tail, "")
	if len(r.Results) == 0 {
		return append(head[:2], tail...)
	}
	rows := tableRows(r.Results)
	fixed := linesCost(head) + linesCost(tail) + linesCost(rows[:2])
	limit := budget * 3 / 4
	used := fixed
	n := 0
	for _, row := range rows[2:] {
		if used+lineCost(row) > limit {
			break
		}
		used += lineCost(row)
		n++
	}
	table := rows[:2+n]
	if n < len(rows)-2 {
		more := fmt.Sprintf("| … and %s more, see below | | | | | | |", plural(len(rows)-2-n, "project"))
		for used+lineCost(more) > limit && n > 0 {
			n--
			used -= lineCost(rows[2+n])
			table = rows[:2+n]
			more = fmt.Sprintf("| … and %s more, see below | | | | | | |", plural(len(rows)-2-n, "project"))
		}
		table = append(table[:len(table):len(table)], more)
	}
	return append(append(head, table...), tail...)
}

// nextHint returns the line that says which commands to run next.
func nextHint(r Report) string {
	if r.Command == "apply" {
		return ""
	}
	t := count(r.Results)
	switch {
	case t.failed > 0:
		return "💡 Fix the failures, then push or comment `/plan` to plan again."
	case t.locked > 0:
		return "💡 Comment `/plan` to plan again once the locks are released."
	case t.changed > 0:
		return "💡 To apply all projects comment `/apply`; one project: `/apply -p NAME`. To plan again: `/plan`."
	case t.total > 0:
		return "Nothing to apply."
	}
	return ""
}

// tableRows returns the summary table: a header, a delimiter and one row
// per result.
func tableRows(results []planbot.Result) []string {
	rows := []string{
		"| Project | Result | Add | Change | Destroy | Replace (in Add and Destroy) | Time |",
		"| :-- | :-- | --: | --: | --: | --: | --: |",
	}
	for _, res := range results {
		cells := []string{projectCell(res.Project), resultCell(res)}
		cells = append(cells, countCells(res)...)
		cells = append(cells, duration(res.Duration))
		rows = append(rows, "| "+strings.Join(cells, " | ")+" |")
	}
	return rows
}

func projectCell(p planbot.Project) string {
	s := tableEscape(codeSpan(p.Dir))
	if ws := p.Workspace; ws != "" && ws != "default" {
		s += " · " + tableEscape(codeSpan(ws))
	}
	if p.Kind == planbot.KindKustomize {
		s += " (kustomize)"
	}
	return s
}

func resultCell(res planbot.Result) string {
	if res.Project.Deleted {
		switch res.Status {
		case planbot.StatusPlanned:
			return "🗑️ deleted: destroys"
		case planbot.StatusNoChange:
			return "🗑️ deleted: nothing to destroy"
		case planbot.StatusApplied:
			return "🗑️ deleted: destroyed"
		}
	}
	switch res.Status {
	case planbot.StatusPlanned:
		if destroys(res) {
			return "⚠️ destroys"
		}
		return "📝 changes"
	case planbot.StatusNoChange:
		return "✅ no changes"
	case planbot.StatusFailed:
		return "❌ failed"
	case planbot.StatusLocked:
		return fmt.Sprintf("🔒 locked by #%d", res.LockedBy)
	case planbot.StatusDeleted:
		return "🗑️ deleted"
	case planbot.StatusApplied:
		return "✅ applied"
	}
	return tableEscape(string(res.Status))
}

// countCells returns the Add, Change, Destroy and Replace cells. They
// agree with terraform's "Plan:" line: a replacement counts in Add and in
// Destroy, and the Replace column says how many of those it was. A
// Kustomize overlay counts added, changed and removed resources.
func countCells(res planbot.Result) []string {
	const none = "–"
	switch res.Status {
	case planbot.StatusPlanned, planbot.StatusApplied, planbot.StatusNoChange:
	default:
		return []string{none, none, none, none}
	}
	if m := res.Manifest; m != nil {
		return []string{strconv.Itoa(m.Added), strconv.Itoa(m.Changed), strconv.Itoa(m.Removed), none}
	}
	add, change, destroy, replace := planCounts(res.Changes)
	return []string{strconv.Itoa(add), strconv.Itoa(change), strconv.Itoa(destroy), strconv.Itoa(replace)}
}

// duration formats d for the summary table.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// contHeader returns the lines that open a continuation part.
func contHeader(r Report, k, m int) []string {
	return []string{
		Marker(r.PR, k),
		fmt.Sprintf("**planbot %s · part %d/%d** · %s", r.Command, k, m, headLink(r)),
		"",
	}
}

func errorSection(msg string, opts Options) section {
	var s section
	s.line("**Error**", "")
	textBlock(&s, "text", msg, opts, func(l string) string { return l })
	s.line("")
	return s
}

// approvalsSection lists whose approval /apply needs. Owners are shown in
// code spans, so the comment does not notify them.
func approvalsSection(a Approvals) section {
	var s section
	if len(a.Rules) == 0 {
		what := "The base branch has no CODEOWNERS"
		if a.File != "" {
			what = "No changed file has a code owner in " + codeSpan(a.File)
		}
		s.line("**Approvals**: "+what+", so `/apply` needs one approval of the head commit from someone with write access, other than the author.", "")
		return s
	}
	s.line("**Approvals** `/apply` needs, at the head commit, one from each line ("+codeSpan(a.File)+" on the base branch; the author's own does not count):", "")
	for _, r := range a.Rules {
		var owners []string
		for _, o := range r.Owners {
			owners = append(owners, codeSpan(o))
		}
		files := r.Files
		more := ""
		if len(files) > 3 {
			more = fmt.Sprintf(" and %d more", len(files)-3)
			files = files[:3]
		}
		var fs []string
		for _, f := range files {
			fs = append(fs, codeSpan(f))
		}
		s.line(fmt.Sprintf("- one of %s for %s%s (line %d)", strings.Join(owners, ", "), strings.Join(fs, ", "), more, r.Line))
	}
	s.line("")
	return s
}

func notesSection(notes []string) section {
	var s section
	s.line("**Notes**", "")
	for _, n := range notes {
		s.line("- " + escapeText(oneLine(n)))
	}
	s.line("")
	return s
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdEscaper escapes the characters that would turn plain text into
// Markdown or HTML.
var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "|", "\\|", "~", "\\~",
)

// escapeText returns s as literal Markdown text.
func escapeText(s string) string { return mdEscaper.Replace(s) }

// codeSpan returns s as an inline code span, with a delimiter that s does
// not contain.
func codeSpan(s string) string {
	s = oneLine(s)
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	d := "``"
	for strings.Contains(s, d) {
		d += "`"
	}
	return d + " " + s + " " + d
}

// tableEscape escapes the pipes that would end a table cell.
func tableEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func projectName(p planbot.Project) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Dir
}

func heading(icon string, p planbot.Project) string {
	h := "### " + icon + " " + codeSpan(p.Dir)
	if ws := p.Workspace; ws != "" && ws != "default" {
		h += " · workspace " + codeSpan(ws)
	}
	if p.Name != "" && p.Name != p.Dir {
		h += " · " + codeSpan(p.Name)
	}
	return h
}

// projectSection renders the section of one result.
func projectSection(r Report, res planbot.Result, opts Options) section {
	var s section
	p := res.Project
	switch res.Status {
	case planbot.StatusDeleted:
		s.line("🗑️ "+codeSpan(p.Dir)+" was deleted on the head branch; nothing to plan.", "")
		return s
	case planbot.StatusLocked:
		s.line(heading("🔒", p), "")
		s.line(fmt.Sprintf("🔒 Locked by #%d, which holds this project's lock. Comment `/plan` here after #%d is merged, closed or unlocked.", res.LockedBy, res.LockedBy), "")
		return s
	case planbot.StatusNoChange:
		if p.Deleted {
			s.line("🗑️ "+codeSpan(p.Dir)+wsSuffix(p)+" is deleted by this pull request, and its state holds no resources: nothing is destroyed, and it needs no apply.", "")
			return s
		}
		if res.Fmt == "" && len(res.Changes.Drift) == 0 && res.Error == "" {
			what := "no changes."
			if res.Manifest != nil {
				what = "no changes in the rendered manifests."
			}
			s.line("✅ "+codeSpan(p.Dir)+wsSuffix(p)+": "+what, "")
			return s
		}
	}
	s.line(heading(sectionIcon(res), p), "")
	if p.Deleted {
		s.line(deletedLine(res), "")
	}
	if res.Error != "" {
		s.line("**Error**", "")
		textBlock(&s, "text", res.Error, opts, func(l string) string { return l })
	}
	if res.Manifest != nil {
		manifestBody(&s, res, opts)
	} else {
		terraformBody(&s, r, res, opts)
	}
	switch {
	case res.Status != planbot.StatusPlanned || r.Command == "apply":
	case p.Kind == planbot.KindKustomize:
		s.line("These manifests reach the cluster when the pull request merges; `/apply` merges once every project is applied.", "")
	default:
		s.line("To apply only this project: "+codeSpan("/apply -p "+projectName(p)), "")
	}
	return s
}

// deletedLine says what happens to the resources of a root that the pull
// request deletes.
func deletedLine(res planbot.Result) string {
	dir := codeSpan(res.Project.Dir) + wsSuffix(res.Project)
	n := plural(len(res.Changes.Destroys), "resource")
	switch res.Status {
	case planbot.StatusPlanned:
		return "🗑️ " + dir + " is deleted by this pull request: destroys " + n + ", everything its state holds. `/apply` destroys them; the pull request merges only after that."
	case planbot.StatusApplied:
		return "🗑️ " + dir + " is deleted by this pull request: destroyed " + n + "."
	}
	return "🗑️ " + dir + " is deleted by this pull request, and what its state holds could not be planned for destruction. planbot does not apply or merge this pull request until it can: fix the problem and comment `/plan`."
}

func wsSuffix(p planbot.Project) string {
	if ws := p.Workspace; ws != "" && ws != "default" {
		return " (workspace " + codeSpan(ws) + ")"
	}
	return ""
}

func sectionIcon(res planbot.Result) string {
	switch res.Status {
	case planbot.StatusFailed:
		return "❌"
	case planbot.StatusNoChange, planbot.StatusApplied:
		return "✅"
	}
	if destroys(res) {
		return "⚠️"
	}
	return "📝"
}

func terraformBody(s *section, r Report, res planbot.Result, opts Options) {
	c := res.Changes
	if res.Summary != "" {
		s.line(codeSpan(oneLine(res.Summary)), "")
	}
	addrList(s, "⚠️ **Destroys** "+plural(len(c.Destroys), "resource")+":", c.Destroys)
	addrList(s, "🔁 **Replaces** "+plural(len(c.Replaces), "resource")+" (each is destroyed and created again, so terraform counts it to add and to destroy):", c.Replaces)
	addrList(s, "↪️ **Moves** "+plural(len(c.Moves), "resource")+":", c.Moves)
	addrList(s, "📥 **Imports** "+plural(len(c.Imports), "resource")+":", c.Imports)
	if c.OutputsChanged {
		s.line("Root module outputs change.", "")
	}
	if len(c.Drift) > 0 {
		s.open(detailsBlock("ℹ️ "+plural(len(c.Drift), "resource")+" changed outside of Terraform", false))
		for _, a := range c.Drift {
			s.line("- " + codeSpan(a))
		}
		s.line("")
		s.close()
	}
	if res.Fmt != "" {
		s.line("🧹 **Not formatted**: run `terraform fmt` on these files.", "")
		textBlock(s, "diff", res.Fmt, opts, func(l string) string { return l })
	}
	if res.Output != "" {
		what := "Plan"
		if r.Command == "apply" {
			what = "Apply"
		}
		out := capText(res.Output, opts.MaxOutputRunes)
		summary := fmt.Sprintf("%s output (%s)", what, plural(lineCount(res.Output), "line"))
		if len(out) < len(res.Output) {
			summary = fmt.Sprintf("%s output (%s, the middle omitted)", what, plural(lineCount(res.Output), "line"))
		}
		s.open(detailsBlock(html.EscapeString(summary), false))
		fencedLines(s, "diff", out, planDiffLine)
		s.close()
	}
}

// addrList renders a titled list of resource addresses; nothing when the
// list is empty.
func addrList(s *section, title string, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	s.line(title, "")
	for _, a := range addrs {
		s.line("- " + codeSpan(a))
	}
	s.line("")
}

func manifestBody(s *section, res planbot.Result, opts Options) {
	m := res.Manifest
	line := fmt.Sprintf("%d added, %d changed, %d removed", m.Added, m.Changed, m.Removed)
	if m.New {
		line = "🆕 New overlay: " + line
	}
	s.line(line, "")
	if len(m.Resources) == 0 {
		return
	}
	for _, rc := range m.Resources {
		s.line("- " + actionIcon(rc.Action) + " " + codeSpan(resourceName(rc)) + " " + html.EscapeString(oneLine(rc.Action)))
	}
	s.line("")
	for _, rc := range m.Resources {
		if rc.Diff == "" {
			continue
		}
		s.open(detailsBlock(html.EscapeString(resourceName(rc)+" ("+oneLine(rc.Action)+")"), false))
		textBlock(s, "diff", rc.Diff, opts, func(l string) string { return l })
		s.close()
	}
}

func actionIcon(action string) string {
	switch action {
	case "added":
		return "➕"
	case "removed":
		return "➖"
	case "changed":
		return "✏️"
	}
	return "•"
}

// resourceName returns "Kind namespace/name", or "Kind name" for a
// cluster-scoped resource.
func resourceName(rc planbot.ResourceChange) string {
	name := rc.Name
	if rc.Namespace != "" {
		name = rc.Namespace + "/" + name
	}
	return oneLine(rc.Kind + " " + name)
}

// textBlock renders text, capped, in a fenced code block.
func textBlock(s *section, lang, text string, opts Options, fn func(string) string) {
	fencedLines(s, lang, capText(text, opts.MaxOutputRunes), fn)
}

func fencedLines(s *section, lang, text string, fn func(string) string) {
	text = strings.TrimRight(text, "\n")
	s.open(fenceBlock(lang, text))
	for l := range strings.SplitSeq(text, "\n") {
		s.line(fn(strings.TrimRight(l, "\r")))
	}
	s.close()
}

// lineCount returns the number of lines of s.
func lineCount(s string) int {
	return strings.Count(strings.TrimRight(s, "\n"), "\n") + 1
}

// capText keeps the first two thirds and the last third of the allowed
// runes of s, cut at line boundaries, with a line counting what was left
// out between them.
func capText(s string, maxRunes int) string {
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	headEnd := lineCut(s, maxRunes*2/3)
	tailStart := len(s) - lineCutBack(s[headEnd:], maxRunes/3)
	omitted := strings.Count(s[headEnd:tailStart], "\n")
	if omitted == 0 {
		omitted = 1
	}
	return s[:headEnd] + "… " + plural(omitted, "line") + " omitted …\n" + s[tailStart:]
}

// lineCut returns the byte offset just after the last newline within the
// first n runes of s (or after n runes when there is none).
func lineCut(s string, n int) int {
	end := len(s)
	i := 0
	for j := range s {
		if i == n {
			end = j
			break
		}
		i++
	}
	if k := strings.LastIndexByte(s[:end], '\n'); k >= 0 {
		return k + 1
	}
	return end
}

// lineCutBack returns the length in bytes of the longest suffix of s that
// holds at most n runes and starts at a line boundary (or is n runes long
// when no line boundary fits).
func lineCutBack(s string, n int) int {
	start := len(s)
	for i := 0; i < n && start > 0; i++ {
		_, size := utf8.DecodeLastRuneInString(s[:start])
		start -= size
	}
	if start == 0 {
		return len(s)
	}
	if k := strings.IndexByte(s[start-1:], '\n'); k >= 0 && start-1+k+1 < len(s) {
		return len(s) - (start + k)
	}
	return len(s) - start
}

// planDiffLine moves terraform's action marker to column 0 so that GitHub's
// diff highlighter colors the line; see the package documentation.
func planDiffLine(l string) string {
	rest := strings.TrimLeft(l, " ")
	indent := l[:len(l)-len(rest)]
	for _, m := range [...]struct{ marker, sym string }{
		{"-/+ ", "!"}, {"+/- ", "!"}, {"+ ", "+"}, {"- ", "-"}, {"~ ", "!"},
	} {
		if strings.HasPrefix(rest, m.marker) {
			return m.sym + indent + strings.Repeat(" ", len(m.marker)-1) + rest[len(m.marker):]
		}
	}
	switch rest {
	case "+", "-":
		return rest + indent
	case "~":
		return "!" + indent
	}
	if len(l) > 0 && (l[0] == '+' || l[0] == '-' || l[0] == '!' || l[0] == '@') {
		// A line that would be read as a marker without being one.
		return " " + l
	}
	return l
}
