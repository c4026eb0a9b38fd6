package release

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/planbot/planbot/release/tag"
)

// markerStart and markerEnd enclose, at the end of a release pull
// request's body, the request as JSON: what supersession and promotion
// read back. Only pull requests the App opened are trusted with it.
const (
	markerStart = "<!-- planbot:release "
	markerEnd   = " -->"
)

// tagValues are the values of an image tag template for service svc.
func tagValues(t tag.Tag, sha, svc string) tag.Values { return tag.NewValues(t, sha, svc) }

// Body is what a release pull request's body says.
type Body struct {
	Request Request
	// Changes are the changes of the overlays, the first overlay's per
	// image.
	Changes []Change
	// Rollback reports whether the release goes back to an older commit.
	Rollback bool
	// Supersedes are the open pull requests the release closes.
	Supersedes []int
	// AutoMerge reports whether the environment merges once planned.
	AutoMerge bool
}

// cell escapes text for a Markdown table cell and bounds it.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "`", "'", "<", "&lt;", ">", "&gt;").Replace(s)
	if r := []rune(s); len(r) > 100 {
		s = string(r[:99]) + "…"
	}
	return s
}

// Render returns the pull request's body: the table of images (image,
// from, to, who asked, when, trigger), notes on rollback, promotion and
// supersession, and the marker.
func (b Body) Render() string {
	r := b.Request
	var s strings.Builder
	fmt.Fprintf(&s, "planbot releases **%s** to **%s**.\n\n", cell(r.Product), cell(r.Env))
	if b.Rollback {
		s.WriteString("⏪ **Rollback**: the new tag's commit is older, by the repository's history, than the one it replaces.\n\n")
	}
	s.WriteString("| image | from | to | who asked | when | trigger |\n|---|---|---|---|---|---|\n")
	from := map[string]string{}
	for _, c := range b.Changes {
		if _, ok := from[c.Image]; !ok {
			from[c.Image] = c.From
			if c.Added {
				from[c.Image] = "(no entry)"
			}
		}
	}
	trigger := r.Trigger + " " + r.Origin
	if r.SourceRepo != "" {
		trigger += " in " + r.SourceRepo
	}
	for _, img := range r.Images {
		f, ok := from[img.Name]
		switch {
		case !ok:
			f = "(already set)"
		case f == "":
			f = "(none)"
		}
		fmt.Fprintf(&s, "| `%s` | `%s` | `%s` | %s | %s | %s |\n",
			cell(img.Name), cell(f), cell(img.To()), cell(r.Actor), r.At.UTC().Format("2006-01-02 15:04 UTC"), cell(trigger))
	}
	if r.PromotedFrom > 0 {
		fmt.Fprintf(&s, "\npromoted from #%d\n", r.PromotedFrom)
	}
	for _, n := range b.Supersedes {
		fmt.Fprintf(&s, "\nSupersedes #%d, closed.\n", n)
	}
	s.WriteString("\nThe pull request is planned, gated and merged like any other.")
	if b.AutoMerge {
		fmt.Fprintf(&s, " `%s` has `auto_merge`: planbot merges it once the plan succeeds, with no approval.", cell(r.Env))
	}
	s.WriteString("\n\n")
	m, _ := json.Marshal(r)
	s.WriteString(markerStart + strings.ReplaceAll(string(m), "--", `\u002d\u002d`) + markerEnd + "\n")
	return s.String()
}

// Parse reads the request back from a release pull request's body, and
// reports false when the body has no valid marker.
func Parse(body string) (Request, bool) {
	i := strings.LastIndex(body, markerStart)
	if i < 0 {
		return Request{}, false
	}
	rest := body[i+len(markerStart):]
	j := strings.Index(rest, markerEnd)
	if j < 0 {
		return Request{}, false
	}
	var r Request
	if err := json.Unmarshal([]byte(rest[:j]), &r); err != nil || r.Env == "" || r.Product == "" || len(r.Images) == 0 {
		return Request{}, false
	}
	for _, img := range r.Images {
		if img.Check() != nil {
			return Request{}, false
		}
	}
	return r, true
}
