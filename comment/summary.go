package comment

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/planbot/planbot"
)

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
	if r.Command == "drift" {
		return driftVerdict(r, t)
	}
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
	when := ""
	switch r.Command {
	case "apply":
		verb = "Applied"
	case "drift":
		verb = "Checked"
		if !r.Checked.IsZero() {
			when = " at " + r.Checked.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	tail = append(tail, "", verb+" on "+headLink(r)+when+partLabel(k, m))
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
	if r.Command == "apply" || r.Command == "drift" {
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
	if e := engineSuffix(p, ""); e != "" {
		s += " (" + e + ")"
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

// driftVerdict returns the verdict of a drift report.
func driftVerdict(r Report, t tally) string {
	var names []string
	for _, res := range r.Results {
		names = append(names, codeSpan(projectName(res.Project)))
	}
	what := strings.Join(names, ", ")
	switch {
	case r.Error != "" || t.failed > 0:
		return "❌ The drift check of " + what + " failed"
	case t.changed == 0:
		return "✅ No drift in " + what
	}
	s := fmt.Sprintf("%d to add, %d to change, %d to destroy", t.add, t.change, t.destroy)
	return "⚠️ Drift in " + what + ": the default branch no longer matches what runs (" + s + ")"
}
