// Package codeowners reads a repository's CODEOWNERS file and decides
// whether the approvals on a pull request allow planbot to apply a project.
//
// The model follows GitHub's documented CODEOWNERS semantics. Exactly one
// file is used, read from the pull request's base commit (never its head, so
// a pull request cannot rewrite its own owners): .github/CODEOWNERS, then
// CODEOWNERS, then docs/CODEOWNERS. Each line is a gitignore-style pattern
// followed by owners (@user, @org/team or an email address). Lines GitHub
// would reject are skipped and reported with their line numbers; a skipped
// line never takes part in matching. For a path, the last matching line
// wins, and a winning line without owners leaves the path unowned. A file of
// 3 MB or more is not loaded by GitHub; planbot treats it as an error and
// refuses to apply.
//
// Patterns are matched with github.com/hmarr/codeowners, which implements
// the same rules. planbot differs from that library where it departs from
// GitHub's documentation: one invalid line does not invalidate the whole
// file, a pattern starting with `\#` is rejected (GitHub: escaping `#` does
// not work), the pattern `/` is reported (GitHub: it never matches), email
// owners are not limited to short top-level domains, and patterns containing
// characters the library does not accept (such as `~`, `,` or non-ASCII
// letters, all valid in file names) are matched by an equivalent matcher of
// planbot's own instead of being rejected.
//
// The approval rule, used to gate /apply, is stricter than GitHub's "Require
// review from Code Owners"; see Evaluate.
package codeowners

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	hcodeowners "github.com/hmarr/codeowners"
	"github.com/planbot/planbot"
)

// MaxSize is the size from which GitHub ignores a CODEOWNERS file.
const MaxSize = 3 << 20

// Locations returns the paths at which a CODEOWNERS file is looked for, in
// order of precedence.
func Locations() []string {
	return []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}
}

// Rule is one valid line of a CODEOWNERS file.
type Rule struct {
	// Line is the 1-based line number.
	Line int
	// Pattern is the path pattern as written.
	Pattern string
	// Owners lists the owners in file order, as written. It is empty when
	// the line makes matching paths unowned.
	Owners []string

	match func(path string) bool
}

// String formats the rule as its line reads: the pattern, then the owners.
func (r Rule) String() string {
	if len(r.Owners) == 0 {
		return r.Pattern
	}
	return r.Pattern + " " + strings.Join(r.Owners, " ")
}

// LineError is a CODEOWNERS line that was skipped because it is invalid.
type LineError struct {
	Line    int
	Message string
}

// Error implements the error interface.
func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Ruleset is the valid rules of a CODEOWNERS file in file order.
type Ruleset []Rule

// Match returns the rule that decides the owners of path, a repo-relative
// slash-separated file path: the last rule whose pattern matches. ok is
// false when no rule matches. Paths are compared case-sensitively.
func (rs Ruleset) Match(path string) (Rule, bool) {
	path = strings.TrimPrefix(path, "/")
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].match(path) {
			return rs[i], true
		}
	}
	return Rule{}, false
}

// File is a parsed CODEOWNERS file.
type File struct {
	// Path is the repo-relative path the file was read from, "" when the
	// repository has none.
	Path string
	Ruleset
	// Errors lists the skipped lines.
	Errors []LineError
}

// RuleRef formats a rule for the audit log and PR comments, like
// ".github/CODEOWNERS:3 envs/prod/ @alice".
func (f *File) RuleRef(r Rule) string {
	return fmt.Sprintf("%s:%d %s", f.Path, r.Line, r)
}

// Parse parses the content of a CODEOWNERS file read from path. Invalid
// lines are skipped and listed in File.Errors. It fails only when data is
// MaxSize or larger, which GitHub does not load.
func Parse(path string, data []byte) (*File, error) {
	if len(data) >= MaxSize {
		return nil, planbot.Errorf(planbot.EINVALID,
			"%s is %d bytes; GitHub ignores CODEOWNERS files of 3 MB or more, so planbot refuses to apply", path, len(data))
	}
	f := &File{Path: path}
	compiled := map[string]func(string) bool{} // pattern -> matcher
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		r, skip, err := parseLine(string(bytes.TrimSuffix(line, []byte("\r"))), compiled)
		switch {
		case err != nil:
			f.Errors = append(f.Errors, LineError{Line: n, Message: err.Error()})
		case !skip:
			r.Line = n
			f.Ruleset = append(f.Ruleset, r)
		}
	}
	return f, nil
}

// parseLine parses one line, using and filling compiled, the matchers of
// patterns seen before. skip reports whether the line is blank or a comment.
func parseLine(line string, compiled map[string]func(string) bool) (r Rule, skip bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return Rule{}, true, nil
	}
	if strings.HasPrefix(line, `\#`) {
		return Rule{}, false, fmt.Errorf("invalid pattern: escaping a leading # with \\ is not supported")
	}
	pattern, rest := splitPattern(line)
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i] // inline comment
	}
	switch {
	case pattern == "":
		return Rule{}, false, fmt.Errorf("missing pattern")
	case strings.HasPrefix(pattern, "!"):
		return Rule{}, false, fmt.Errorf("invalid pattern %q: negation with ! is not supported", pattern)
	case strings.ContainsAny(pattern, "[]"):
		return Rule{}, false, fmt.Errorf("invalid pattern %q: character ranges with [ ] are not supported", pattern)
	case strings.Contains(pattern, "***"):
		return Rule{}, false, fmt.Errorf("invalid pattern %q: *** is not allowed, did you mean **?", pattern)
	case pattern == "/":
		return Rule{}, false, fmt.Errorf("invalid pattern \"/\": it never matches anything, did you mean *?")
	case strings.HasSuffix(pattern, `\`) && !strings.HasSuffix(pattern, `\\`):
		return Rule{}, false, fmt.Errorf("invalid pattern %q: trailing backslash", pattern)
	}
	owners := strings.Fields(rest)
	for _, o := range owners {
		if !validOwner(o) {
			return Rule{}, false, fmt.Errorf("invalid owner %q: want @user, @org/team or an email address", o)
		}
	}
	m, ok := compiled[pattern]
	if !ok {
		if m, err = compile(pattern); err != nil {
			return Rule{}, false, fmt.Errorf("invalid pattern %q: %v", pattern, err)
		}
		compiled[pattern] = m
	}
	return Rule{Pattern: pattern, Owners: owners, match: m}, false, nil
}

// splitPattern splits a trimmed line into its pattern, which ends at the
// first unescaped whitespace or '#', and the rest.
func splitPattern(line string) (pattern, rest string) {
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == ' ' || c == '\t':
			return line[:i], line[i:]
		case c == '#':
			return line[:i], line[i:]
		}
	}
	return line, ""
}

// compile returns a matcher for pattern. It uses hmarr/codeowners when the
// library reads the pattern unchanged and planbot's own equivalent
// translation otherwise (the library rejects some file name characters and
// reads an escaped '#' as the start of a comment).
func compile(pattern string) (func(string) bool, error) {
	rs, err := hcodeowners.ParseFile(strings.NewReader(pattern))
	if err == nil && len(rs) == 1 && rs[0].RawPattern() == pattern {
		rule := rs[0]
		return func(path string) bool {
			ok, err := rule.Match(path)
			return ok && err == nil
		}, nil
	}
	re, err := patternRegexp(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// Owner kinds.
const (
	kindUser  = "user"
	kindTeam  = "team"
	kindEmail = "email"
)

var emailRE = regexp.MustCompile(`\A[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+\z`)

// ownerKind classifies an owner as written in CODEOWNERS, "" if invalid.
func ownerKind(o string) string {
	if _, err := hcodeowners.MatchTeamOwner(o); err == nil {
		return kindTeam
	}
	if _, err := hcodeowners.MatchUsernameOwner(o); err == nil {
		return kindUser
	}
	if emailRE.MatchString(o) {
		return kindEmail
	}
	return ""
}

func validOwner(o string) bool { return ownerKind(o) != "" }
