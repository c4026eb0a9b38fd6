package comment

import (
	"fmt"
	"html"
	"strings"

	"github.com/planbot/planbot"
)

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
	return h + engineSuffix(p, " · ")
}

// engineSuffix names the engine of p after sep when it is not the usual
// one, Terraform: " · OpenTofu".
func engineSuffix(p planbot.Project, sep string) string {
	if p.Kind == planbot.KindKustomize || p.Engine.Or(planbot.EngineTerraform) == planbot.EngineTerraform {
		return ""
	}
	return sep + p.Engine.Name()
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
			s.line("✅ "+codeSpan(p.Dir)+wsSuffix(p)+engineSuffix(p, " · ")+": "+what, "")
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
	case res.Status != planbot.StatusPlanned || r.Command == "apply" || r.Command == "drift":
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
	engine := res.Project.Engine.Or(planbot.EngineTerraform)
	if res.Summary != "" {
		s.line(codeSpan(oneLine(res.Summary)), "")
	}
	addrList(s, "⚠️ **Destroys** "+plural(len(c.Destroys), "resource")+":", c.Destroys)
	addrList(s, "🔁 **Replaces** "+plural(len(c.Replaces), "resource")+" (each is destroyed and created again, so "+engine.Command()+" counts it to add and to destroy):", c.Replaces)
	addrList(s, "↪️ **Moves** "+plural(len(c.Moves), "resource")+":", c.Moves)
	addrList(s, "📥 **Imports** "+plural(len(c.Imports), "resource")+":", c.Imports)
	if c.OutputsChanged {
		s.line("Root module outputs change.", "")
	}
	if len(c.Drift) > 0 {
		s.open(detailsBlock("ℹ️ "+plural(len(c.Drift), "resource")+" changed outside of "+engine.Name(), r.Command == "drift"))
		for _, a := range c.Drift {
			s.line("- " + codeSpan(a))
		}
		s.line("")
		s.close()
	}
	if res.Fmt != "" {
		s.line("🧹 **Not formatted**: run `"+engine.Command()+" fmt` on these files.", "")
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
