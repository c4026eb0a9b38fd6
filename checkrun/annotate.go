package checkrun

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/planbot/planbot"
)

// Annotations returns the annotations of a Terraform result: a warning
// for each hunk of its `terraform fmt -diff` output, on the lines the hunk
// changes, and a failure for each error terraform reported with a file
// and line ("on main.tf line 3"). Paths are made relative to the
// repository; a file outside it (a module from elsewhere) gets none, and
// so does a deleted root, whose files are gone at the head.
func Annotations(res planbot.Result) []Annotation {
	p := res.Project
	if p.Kind == planbot.KindKustomize || p.Deleted {
		return nil
	}
	return append(fmtAnnotations(p.Dir, res.Fmt), errorAnnotations(p.Dir, res.Error)...)
}

// repoPath joins a file that terraform names relative to the root in dir
// to the root, and reports false when the result leaves the repository.
func repoPath(dir, file string) (string, bool) {
	file = strings.TrimPrefix(strings.TrimSpace(file), "./")
	if file == "" || path.IsAbs(file) {
		return "", false
	}
	p := path.Clean(path.Join(dir, file))
	if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) || p == "." {
		return "", false
	}
	return p, true
}

// hunkHeader matches a unified diff hunk header; the old file's start and
// line count are what the annotation marks.
var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@`)

// fmtAnnotations parses the output of `terraform fmt -check -diff -list`:
// the names of the files, then a unified diff ("--- old/main.tf",
// "+++ new/main.tf", hunks) of each.
func fmtAnnotations(dir, out string) []Annotation {
	var anns []Annotation
	var file string
	var cur *Annotation
	var details []string
	flush := func() {
		if cur != nil {
			cur.RawDetails = strings.Join(details, "\n")
			anns = append(anns, *cur)
		}
		cur, details = nil, nil
	}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "--- old/"):
			flush()
			file = strings.TrimPrefix(l, "--- old/")
		case strings.HasPrefix(l, "+++ new/"):
		case hunkHeader.MatchString(l):
			flush()
			p, ok := repoPath(dir, file)
			if !ok {
				continue
			}
			m := hunkHeader.FindStringSubmatch(l)
			start, _ := strconv.Atoi(m[1])
			n := 1
			if m[2] != "" {
				n, _ = strconv.Atoi(m[2])
			}
			start = max(start, 1)
			cur = &Annotation{
				Path: p, StartLine: start, EndLine: start + max(n, 1) - 1, Level: "warning",
				Title: "Not formatted", Message: "terraform fmt would change these lines; run `terraform fmt`.",
			}
			details = []string{l}
		case cur != nil && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") || l == ""):
			details = append(details, l)
		}
	}
	flush()
	return anns
}

// diagnosticAt matches the line of a terraform diagnostic that names its
// place: "  on main.tf line 3, in resource ...:".
var diagnosticAt = regexp.MustCompile(`^\s*on (.+?) line (\d+)(?:, in (.*?))?:?$`)

// errorAnnotations parses terraform's error diagnostics: "Error: summary",
// a blank line, "  on FILE line N, in BLOCK:", the source lines, and the
// detail paragraph. With colour on, each line starts with "│ ".
func errorAnnotations(dir, text string) []Annotation {
	var anns []Annotation
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(strings.TrimPrefix(strings.TrimPrefix(lines[i], "│"), " "), "\r")
	}
	for i := 0; i < len(lines); i++ {
		summary, ok := strings.CutPrefix(lines[i], "Error: ")
		if !ok {
			continue
		}
		a := Annotation{Level: "failure", Title: strings.TrimSpace(summary)}
		var detail []string
		j := i + 1
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "Error: ") && !strings.HasPrefix(lines[j], "Warning: "); j++ {
			l := lines[j]
			if m := diagnosticAt.FindStringSubmatch(l); m != nil && a.Path == "" {
				if p, ok := repoPath(dir, m[1]); ok {
					n, _ := strconv.Atoi(m[2])
					a.Path, a.StartLine, a.EndLine = p, max(n, 1), max(n, 1)
				}
				continue
			}
			if strings.TrimSpace(l) == "" || isSourceLine(l) || l == "╵" || l == "╷" {
				continue
			}
			detail = append(detail, strings.TrimSpace(l))
		}
		i = j - 1
		if a.Path == "" {
			continue
		}
		a.Message = a.Title
		if len(detail) > 0 {
			a.Message += "\n\n" + strings.Join(detail, " ")
		}
		anns = append(anns, a)
	}
	return anns
}

// sourceLine matches the quoted source of a diagnostic: "   3:   foo = 1".
var sourceLine = regexp.MustCompile(`^\s+\d+:`)

func isSourceLine(l string) bool { return sourceLine.MatchString(l) }
