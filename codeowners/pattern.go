package codeowners

import (
	"fmt"
	"regexp"
	"strings"
)

// patternRegexp translates a CODEOWNERS pattern into an anchored regular
// expression over repo-relative paths, following the gitignore rules as
// GitHub documents them:
//
//   - a leading "/" or a "/" in the middle anchors the pattern at the root;
//     a single segment (optionally with a trailing "/") matches at any depth;
//   - a trailing "/" owns everything inside the directory;
//   - "*" and "?" never match "/"; "**" matches any number of directories
//     when it is a whole segment;
//   - a pattern that names a directory owns its descendants, except that a
//     trailing lone "*" segment does not reach into subdirectories ("docs/*"
//     owns docs/a.md but not docs/x/b.md);
//   - a backslash makes the next character literal.
//
// It is used for patterns whose characters hmarr/codeowners does not accept
// and mirrors that library's translation otherwise.
func patternRegexp(pattern string) (*regexp.Regexp, error) {
	switch {
	case pattern == "":
		return nil, fmt.Errorf("empty pattern")
	case strings.Contains(pattern, "***"):
		return nil, fmt.Errorf("*** is not allowed")
	case pattern == "/":
		return regexp.Compile(`\A\z`)
	case pattern[0] == '/' && !strings.ContainsAny(pattern, "*?\\"):
		return literalRegexp(pattern)
	}
	segs := strings.Split(pattern, "/")
	if segs[0] == "" {
		segs = segs[1:]
	} else if (len(segs) == 1 || len(segs) == 2 && segs[1] == "") && segs[0] != "**" {
		segs = append([]string{"**"}, segs...)
	}
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		segs[len(segs)-1] = "**"
	}
	last := len(segs) - 1
	needSlash := false
	var re strings.Builder
	re.WriteString(`\A`)
	for i, seg := range segs {
		switch seg {
		case "**":
			switch {
			case i == 0 && i == last:
				re.WriteString(`.+`)
			case i == 0:
				re.WriteString(`(?:.+/)?`)
				needSlash = false
			case i == last:
				re.WriteString(`/.*`)
			default:
				re.WriteString(`(?:/.+)?`)
				needSlash = true
			}
		case "*":
			if needSlash {
				re.WriteString(`/`)
			}
			re.WriteString(`[^/]+`)
			needSlash = true
		default:
			if needSlash {
				re.WriteString(`/`)
			}
			escape := false
			for _, c := range seg {
				switch {
				case escape:
					escape = false
					re.WriteString(regexp.QuoteMeta(string(c)))
				case c == '\\':
					escape = true
				case c == '*':
					re.WriteString(`[^/]*`)
				case c == '?':
					re.WriteString(`[^/]`)
				default:
					re.WriteString(regexp.QuoteMeta(string(c)))
				}
			}
			if i == last {
				re.WriteString(`(?:/.*)?`)
			}
			needSlash = true
		}
	}
	re.WriteString(`\z`)
	return regexp.Compile(re.String())
}

// literalRegexp returns the matcher of a pattern that starts with '/' and
// has no wildcard or escape: the library compares such a pattern as a
// string prefix rather than a regular expression, so a newline in a path
// is just another byte there. (?s) makes the expression agree.
func literalRegexp(pattern string) (*regexp.Regexp, error) {
	prefix := regexp.QuoteMeta(pattern[1:])
	if strings.HasSuffix(pattern, "/") {
		return regexp.Compile(`(?s)\A` + prefix)
	}
	return regexp.Compile(`(?s)\A` + prefix + `(?:/.*)?\z`)
}
