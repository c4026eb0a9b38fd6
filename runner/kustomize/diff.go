package kustomize

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/planbot/planbot"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// The actions of a planbot.ResourceChange.
const (
	ActionAdded   = "added"
	ActionRemoved = "removed"
	ActionChanged = "changed"
)

// contextLines is the number of unchanged lines around each hunk.
const contextLines = 3

// id identifies a resource for matching.
type id struct{ Group, Kind, Namespace, Name string }

func (r Resource) id() id { return id{r.Group, r.Kind, r.Namespace, r.Name} }

func (a id) less(b id) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// hashSuffix matches the suffix kustomize appends to generated ConfigMap
// and Secret names: a dash and ten characters of its hash alphabet.
var hashSuffix = regexp.MustCompile(`-[2456789bcdfghkmt]{10}$`)

// Diff compares the resources of an overlay on base and on head. Resources
// are matched by (group, kind, namespace, name); a ConfigMap or Secret whose
// generator hash suffix changed is matched with its successor when exactly
// one resource on each side has that name without the suffix. The result is
// sorted by group, kind, namespace and name (head's name for a match).
//
// A changed resource's Diff is a unified diff of its normalized YAML with
// three lines of context. For a Secret, Diff lists the keys of data and
// stringData that were added, removed or changed ("password: (changed)"),
// followed by a diff of the rest of the manifest when that changed; values
// and their digests never appear. An added or removed resource's Diff is
// its whole manifest as one hunk.
func Diff(base, head []Resource) planbot.ManifestDiff {
	baseBy := make(map[id]Resource, len(base))
	for _, r := range base {
		baseBy[r.id()] = r
	}
	headBy := make(map[id]Resource, len(head))
	for _, r := range head {
		headBy[r.id()] = r
	}
	type pair struct {
		b, h *Resource
	}
	var pairs []pair
	var removed, added []Resource
	for _, r := range head {
		if b, ok := baseBy[r.id()]; ok {
			pairs = append(pairs, pair{&b, &r})
		} else {
			added = append(added, r)
		}
	}
	for _, r := range base {
		if _, ok := headBy[r.id()]; !ok {
			removed = append(removed, r)
		}
	}

	// Pair generated names whose hash suffix changed.
	stem := func(r Resource) (id, bool) {
		if r.Group != "" || (r.Kind != "Secret" && r.Kind != "ConfigMap") || !hashSuffix.MatchString(r.Name) {
			return id{}, false
		}
		i := r.id()
		i.Name = hashSuffix.ReplaceAllString(r.Name, "")
		return i, true
	}
	count := func(rs []Resource) map[id]int {
		n := make(map[id]int)
		for _, r := range rs {
			if s, ok := stem(r); ok {
				n[s]++
			}
		}
		return n
	}
	nb, nh := count(removed), count(added)
	unpairedBase := make(map[id]Resource)
	var restRemoved []Resource
	for _, r := range removed {
		if s, ok := stem(r); ok && nb[s] == 1 && nh[s] == 1 {
			unpairedBase[s] = r
			continue
		}
		restRemoved = append(restRemoved, r)
	}
	var restAdded []Resource
	for _, r := range added {
		if s, ok := stem(r); ok && nb[s] == 1 && nh[s] == 1 {
			b := unpairedBase[s]
			pairs = append(pairs, pair{&b, &r})
			continue
		}
		restAdded = append(restAdded, r)
	}

	var md planbot.ManifestDiff
	for _, p := range pairs {
		d := resourceDiff(*p.b, *p.h)
		if d == "" {
			continue
		}
		md.Resources = append(md.Resources, change(*p.h, ActionChanged, d))
		md.Changed++
	}
	for _, r := range restAdded {
		md.Resources = append(md.Resources, change(r, ActionAdded, resourceDiff(Resource{}, r)))
		md.Added++
	}
	for _, r := range restRemoved {
		md.Resources = append(md.Resources, change(r, ActionRemoved, resourceDiff(r, Resource{})))
		md.Removed++
	}
	sort.SliceStable(md.Resources, func(i, j int) bool {
		a, b := md.Resources[i], md.Resources[j]
		return id{a.Group, a.Kind, a.Namespace, a.Name}.less(id{b.Group, b.Kind, b.Namespace, b.Name})
	})
	return md
}

func change(r Resource, action, diff string) planbot.ResourceChange {
	return planbot.ResourceChange{
		Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Action: action, Diff: diff,
	}
}

// resourceDiff renders the difference between two versions of a resource,
// either of which may be the zero Resource; it returns "" when they are
// equal.
func resourceDiff(b, h Resource) string {
	var sb strings.Builder
	if b.SecretKeys != nil || h.SecretKeys != nil {
		keys := make(map[string]bool)
		for k := range b.SecretKeys {
			keys[k] = true
		}
		for k := range h.SecretKeys {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			bv, inB := b.SecretKeys[k]
			hv, inH := h.SecretKeys[k]
			switch {
			case !inB:
				fmt.Fprintf(&sb, "%s: (added)\n", k)
			case !inH:
				fmt.Fprintf(&sb, "%s: (removed)\n", k)
			case bv != hv:
				fmt.Fprintf(&sb, "%s: (changed)\n", k)
			}
		}
	}
	sb.WriteString(unified(b.YAML, h.YAML))
	return sb.String()
}

// line is one line of a line-level diff.
type line struct {
	op   diffmatchpatch.Operation
	text string
}

// unified returns a unified diff of a and b with contextLines of context,
// as hunks only (no file header), or "" when they are equal.
func unified(a, b string) string {
	if a == b {
		return ""
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ls []line
	for _, d := range diffs {
		text := strings.TrimSuffix(d.Text, "\n")
		for _, l := range strings.Split(text, "\n") {
			ls = append(ls, line{d.Type, l})
		}
	}

	var sb strings.Builder
	for i := 0; i < len(ls); {
		if ls[i].op == diffmatchpatch.DiffEqual {
			i++
			continue
		}
		// A hunk starts contextLines before the first change and extends
		// while the next change is within 2*contextLines equal lines.
		start := max(i-contextLines, 0)
		end := i
		for j := i; j < len(ls); j++ {
			if ls[j].op != diffmatchpatch.DiffEqual {
				end = j + 1
				continue
			}
			if j-end >= 2*contextLines {
				break
			}
		}
		stop := min(end+contextLines, len(ls))
		writeHunk(&sb, ls, start, stop)
		i = stop
	}
	return sb.String()
}

// writeHunk writes ls[start:stop] as one hunk.
func writeHunk(sb *strings.Builder, ls []line, start, stop int) {
	// Line numbers of ls[start] in a and in b.
	aLine, bLine := 1, 1
	for _, l := range ls[:start] {
		if l.op != diffmatchpatch.DiffInsert {
			aLine++
		}
		if l.op != diffmatchpatch.DiffDelete {
			bLine++
		}
	}
	var aCount, bCount int
	for _, l := range ls[start:stop] {
		if l.op != diffmatchpatch.DiffInsert {
			aCount++
		}
		if l.op != diffmatchpatch.DiffDelete {
			bCount++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(aLine, aCount), hunkRange(bLine, bCount))
	for _, l := range ls[start:stop] {
		switch l.op {
		case diffmatchpatch.DiffEqual:
			sb.WriteString(" ")
		case diffmatchpatch.DiffDelete:
			sb.WriteString("-")
		case diffmatchpatch.DiffInsert:
			sb.WriteString("+")
		}
		sb.WriteString(l.text)
		sb.WriteString("\n")
	}
}

// hunkRange formats a hunk range as diff -u does: "start,count", with
// start one less for an empty range.
func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if count == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
