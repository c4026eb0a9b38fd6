package kustomize

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
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
	pairs, added, removed := matchByID(base, head)
	pairs, added, removed = matchGenerated(pairs, added, removed)
	var md planbot.ManifestDiff
	for _, p := range pairs {
		d := resourceDiff(p.b, p.h)
		if d == "" {
			continue
		}
		md.Resources = append(md.Resources, change(p.h, ActionChanged, d))
		md.Changed++
	}
	for _, r := range added {
		md.Resources = append(md.Resources, change(r, ActionAdded, resourceDiff(Resource{}, r)))
		md.Added++
	}
	for _, r := range removed {
		md.Resources = append(md.Resources, change(r, ActionRemoved, resourceDiff(r, Resource{})))
		md.Removed++
	}
	sort.SliceStable(md.Resources, func(i, j int) bool {
		a, b := md.Resources[i], md.Resources[j]
		return id{a.Group, a.Kind, a.Namespace, a.Name}.less(id{b.Group, b.Kind, b.Namespace, b.Name})
	})
	return md
}

// pair is a resource on base and its version on head.
type pair struct{ b, h Resource }

// matchByID pairs the resources of base and head that have the same id,
// in head's order, and returns the rest of head as added and the rest of
// base as removed.
func matchByID(base, head []Resource) (pairs []pair, added, removed []Resource) {
	baseBy := make(map[id]Resource, len(base))
	for _, r := range base {
		baseBy[r.id()] = r
	}
	headBy := make(map[id]Resource, len(head))
	for _, r := range head {
		headBy[r.id()] = r
	}
	for _, r := range head {
		if b, ok := baseBy[r.id()]; ok {
			pairs = append(pairs, pair{b, r})
		} else {
			added = append(added, r)
		}
	}
	for _, r := range base {
		if _, ok := headBy[r.id()]; !ok {
			removed = append(removed, r)
		}
	}
	return pairs, added, removed
}

// generatedStem returns the id of a generated ConfigMap or Secret without
// its hash suffix, and false for other resources.
func generatedStem(r Resource) (id, bool) {
	if r.Group != "" || (r.Kind != "Secret" && r.Kind != "ConfigMap") || !hashSuffix.MatchString(r.Name) {
		return id{}, false
	}
	i := r.id()
	i.Name = hashSuffix.ReplaceAllString(r.Name, "")
	return i, true
}

// matchGenerated adds to pairs the removed and added generated resources
// whose hash suffix changed, when exactly one resource on each side has
// that stem, and returns the rest of added and removed.
func matchGenerated(pairs []pair, added, removed []Resource) ([]pair, []Resource, []Resource) {
	count := func(rs []Resource) map[id]int {
		n := make(map[id]int)
		for _, r := range rs {
			if s, ok := generatedStem(r); ok {
				n[s]++
			}
		}
		return n
	}
	nb, nh := count(removed), count(added)
	unique := func(r Resource) (id, bool) {
		s, ok := generatedStem(r)
		return s, ok && nb[s] == 1 && nh[s] == 1
	}
	unpairedBase := make(map[id]Resource)
	var restRemoved []Resource
	for _, r := range removed {
		if s, ok := unique(r); ok {
			unpairedBase[s] = r
			continue
		}
		restRemoved = append(restRemoved, r)
	}
	var restAdded []Resource
	for _, r := range added {
		if s, ok := unique(r); ok {
			pairs = append(pairs, pair{unpairedBase[s], r})
			continue
		}
		restAdded = append(restAdded, r)
	}
	return pairs, restAdded, restRemoved
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

// unified returns a unified diff of a and b with contextLines of context,
// as hunks only (no file header), or "" when they are equal. go-diff
// aligns the lines and udiff formats the hunks as diff -U3 does.
func unified(a, b string) string {
	if a == b {
		return ""
	}
	u, err := udiff.ToUnified("a", "b", a, lineEdits(a, b), contextLines)
	if err != nil {
		// lineEdits returns sorted, disjoint edits of a, which udiff
		// always accepts.
		return fmt.Sprintf("(no diff: %v)\n", err)
	}
	for range 2 { // the --- and +++ header lines
		_, u, _ = strings.Cut(u, "\n")
	}
	return u
}

// lineEdits returns the line-level edits that turn a into b, in order,
// as byte ranges of a and their replacements.
func lineEdits(a, b string) []udiff.Edit {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	var edits []udiff.Edit
	off := 0
	for _, d := range dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines) {
		n := len(edits)
		extend := n > 0 && edits[n-1].End == off
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			off += len(d.Text)
			continue
		case diffmatchpatch.DiffDelete:
			off += len(d.Text)
			if extend {
				edits[n-1].End = off
				continue
			}
			edits = append(edits, udiff.Edit{Start: off - len(d.Text), End: off})
		case diffmatchpatch.DiffInsert:
			if extend {
				edits[n-1].New += d.Text
				continue
			}
			edits = append(edits, udiff.Edit{Start: off, End: off, New: d.Text})
		}
	}
	return edits
}
