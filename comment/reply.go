package comment

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/redact"
)

// Help returns the reply to /help: the commands planbot understands and the
// projects of the pull request they can name.
func Help(projects []planbot.Project) string {
	var b strings.Builder
	b.WriteString("### planbot commands\n\n")
	b.WriteString("| Command | What it does |\n| :-- | :-- |\n")
	b.WriteString("| `/plan` | Plans every project the pull request changes and updates the plan comment. |\n")
	b.WriteString("| `/plan -p NAME` · `/plan -d DIR` | Plans one project, by name or by directory. |\n")
	b.WriteString("| `/apply` | Applies every planned project. Needs the CODEOWNERS approvals on the head commit. |\n")
	b.WriteString("| `/apply -p NAME` · `/apply -d DIR` | Applies one project. |\n")
	b.WriteString("| `/unlock` | Releases the locks this pull request holds, so other pull requests can plan. |\n")
	b.WriteString("| `/promote ENV` | On a merged release pull request: opens the release of the same images to the environment `ENV`. |\n")
	b.WriteString("| `/help` | Shows this message. |\n")
	if len(projects) == 0 {
		b.WriteString("\nThis pull request changes no project.\n")
		return b.String()
	}
	b.WriteString("\nProjects in this pull request:\n\n")
	b.WriteString("| Name (`-p`) | Directory (`-d`) | Workspace | Kind |\n| :-- | :-- | :-- | :-- |\n")
	for _, p := range projects {
		ws := p.WorkspaceName()
		kind := string(p.Kind)
		if kind == "" {
			kind = string(planbot.KindTerraform)
		}
		if e := engineSuffix(p, ""); e != "" {
			kind += " (" + e + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n",
			tableEscape(codeSpan(projectName(p))), tableEscape(codeSpan(p.Dir)), tableEscape(codeSpan(ws)), kind)
	}
	return b.String()
}

// enginesPrefix names the engines that planned results when OpenTofu is
// one of them ("OpenTofu: ", "Terraform and OpenTofu: "), so that a
// status tells which engine it speaks for; "" when only Terraform did.
func enginesPrefix(results []planbot.Result) string {
	used := map[planbot.Engine]bool{}
	for _, r := range results {
		if r.Project.Kind != planbot.KindKustomize {
			used[r.Project.Engine.Or(planbot.EngineTerraform)] = true
		}
	}
	switch {
	case !used[planbot.EngineOpenTofu]:
		return ""
	case used[planbot.EngineTerraform]:
		return planbot.EngineTerraform.Name() + " and " + planbot.EngineOpenTofu.Name() + ": "
	}
	return planbot.EngineOpenTofu.Name() + ": "
}

// ErrorText returns the reply that tells a pull request about err. The
// wording depends on the error's code; the message is the safe one from
// planbot.ErrorMessage, so internal details never reach the pull request.
// It returns "" for a nil error.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	msg := redact.String(oneLine(planbot.ErrorMessage(err)), nil)
	switch planbot.ErrorCode(err) {
	case planbot.EINVALID:
		return "⚠️ **planbot could not run this command:** " + msg + "\n\nComment `/help` for the commands and their options.\n"
	case planbot.EUNAUTHORIZED:
		return "🚫 **Not allowed:** " + msg + "\n"
	case planbot.ECONFLICT:
		return "⏳ **Conflict:** " + msg + "\n"
	case planbot.ENOTFOUND:
		return "🔍 **Not found:** " + msg + "\n"
	}
	return "💥 **planbot hit an internal error.** The details are in the planbot logs; try again, or ask an administrator.\n"
}

// Commit status states.
const (
	StateSuccess = "success"
	StateFailure = "failure"
	StatePending = "pending"
)

// maxDescription is GitHub's limit for a commit status description, in
// characters.
const maxDescription = 140

// StatusDescription returns the commit status state and description that
// sum up results: failure when a project failed or is locked, success
// otherwise. The description is at most 140 runes.
func StatusDescription(results []planbot.Result) (state, description string) {
	t := count(results)
	state = StateSuccess
	switch {
	case t.total == 0:
		description = "No projects changed"
	case t.failed > 0:
		state = StateFailure
		description = fmt.Sprintf("%d of %s failed", t.failed, plural(t.total, "project"))
		if t.locked > 0 {
			description += fmt.Sprintf(", %d locked", t.locked)
		}
	case t.locked > 0:
		state = StateFailure
		description = fmt.Sprintf("%d of %s locked by other pull requests", t.locked, plural(t.total, "project"))
	case t.applied > 0:
		description = plural(t.applied, "project") + " applied"
	case t.changed == 0:
		description = "No changes in " + plural(t.total, "project")
	default:
		description = fmt.Sprintf("%s planned: %d to add, %d to change, %d to destroy",
			plural(t.changed, "project"), t.add, t.change, t.destroy)
		if t.replace > 0 {
			description += fmt.Sprintf(" (%d replaced)", t.replace)
		}
		if t.resources > 0 {
			description += fmt.Sprintf("; %s changed", plural(t.resources, "Kubernetes resource"))
		}
	}
	description = enginesPrefix(results) + description
	if utf8.RuneCountInString(description) > maxDescription {
		description = runePrefix(description, maxDescription-1) + "…"
	}
	return state, description
}
