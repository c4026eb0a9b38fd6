package codeowners

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/planbot/planbot"
)

// matchCase is a path matched against a CODEOWNERS file; line 0 means no
// rule matches.
type matchCase struct {
	name   string
	file   string
	path   string
	line   int
	owners []string
}

// matchCases are checked against GitHub's documentation of CODEOWNERS
// (about-code-owners, and gitignore for the pattern rules); the comment of
// each case names the rule it checks.
var matchCases = []matchCase{
	// "*" at the root owns everything.
	{name: "star owns root file", file: "* @global", path: "README.md", line: 1, owners: []string{"@global"}},
	{name: "star owns nested file", file: "* @global", path: "a/b/c.txt", line: 1, owners: []string{"@global"}},
	// "*.js @js-owner": any .js file anywhere.
	{name: "extension anywhere", file: "*.js @js", path: "src/app/main.js", line: 1, owners: []string{"@js"}},
	{name: "extension other file", file: "*.js @js", path: "src/app/main.ts", line: 0},
	// Last matching pattern wins; no union across lines.
	{name: "last match wins", file: "* @global\n*.js @js", path: "x/a.js", line: 2, owners: []string{"@js"}},
	{name: "earlier line when later does not match", file: "* @global\n*.js @js", path: "x/a.go", line: 1, owners: []string{"@global"}},
	{name: "order matters", file: "*.js @js\n* @global", path: "x/a.js", line: 2, owners: []string{"@global"}},
	// "*.go docs@example.com": email owners.
	{name: "email owner", file: "*.go docs@example.com", path: "main.go", line: 1, owners: []string{"docs@example.com"}},
	// "/build/logs/ @doctocat": build/logs and its subdirectories, anchored.
	{name: "anchored dir file", file: "/build/logs/ @doctocat", path: "build/logs/a.log", line: 1, owners: []string{"@doctocat"}},
	{name: "anchored dir nested", file: "/build/logs/ @doctocat", path: "build/logs/2024/a.log", line: 1, owners: []string{"@doctocat"}},
	{name: "anchored dir not elsewhere", file: "/build/logs/ @doctocat", path: "x/build/logs/a.log", line: 0},
	// "docs/* docs@example.com": files in docs/ but not nested ones.
	{name: "docs star direct", file: "docs/* @docs", path: "docs/getting-started.md", line: 1, owners: []string{"@docs"}},
	{name: "docs star not nested", file: "docs/* @docs", path: "docs/build-app/troubleshooting.md", line: 0},
	// "apps/ @octocat": an apps directory anywhere.
	{name: "unanchored dir at root", file: "apps/ @octocat", path: "apps/web/index.js", line: 1, owners: []string{"@octocat"}},
	{name: "unanchored dir nested", file: "apps/ @octocat", path: "src/apps/web/index.js", line: 1, owners: []string{"@octocat"}},
	{name: "unanchored dir needs whole segment", file: "apps/ @octocat", path: "myapps/x.js", line: 0},
	// "/docs/ @doctocat": docs at the root only.
	{name: "anchored docs", file: "/docs/ @doctocat", path: "docs/a.md", line: 1, owners: []string{"@doctocat"}},
	{name: "anchored docs not nested", file: "/docs/ @doctocat", path: "src/docs/a.md", line: 0},
	// "/scripts/ @doctocat @octocat": several owners on one line, file order.
	{name: "owners in file order", file: "/scripts/ @doctocat @octocat", path: "scripts/x.sh", line: 1, owners: []string{"@doctocat", "@octocat"}},
	// "**/logs @octocat": logs directories anywhere.
	{name: "leading double star", file: "**/logs @octocat", path: "build/logs/a.log", line: 1, owners: []string{"@octocat"}},
	{name: "leading double star at root", file: "**/logs @octocat", path: "logs/a.log", line: 1, owners: []string{"@octocat"}},
	{name: "leading double star deep", file: "**/logs @octocat", path: "a/b/logs/c/d", line: 1, owners: []string{"@octocat"}},
	// "a/**/b" matches zero or more directories.
	{name: "middle double star zero dirs", file: "a/**/b @x", path: "a/b", line: 1, owners: []string{"@x"}},
	{name: "middle double star two dirs", file: "a/**/b @x", path: "a/x/y/b", line: 1, owners: []string{"@x"}},
	{name: "middle double star anchored", file: "a/**/b @x", path: "z/a/x/b", line: 0},
	// A trailing "/**" matches everything inside.
	{name: "trailing double star", file: "/envs/** @x", path: "envs/prod/main.tf", line: 1, owners: []string{"@x"}},
	// "/apps/ @octocat" then "/apps/github" with no owners: unowned.
	{name: "empty owners unowned", file: "/apps/ @octocat\n/apps/github", path: "apps/github/main.go", line: 2, owners: nil},
	{name: "empty owners sibling still owned", file: "/apps/ @octocat\n/apps/github", path: "apps/github-actions/main.go", line: 1, owners: []string{"@octocat"}},
	{name: "directory match per segment", file: "/apps/github @x", path: "apps/github-actions/a", line: 0},
	// A pattern with a middle slash is anchored.
	{name: "middle slash anchored", file: "envs/prod/ @alice", path: "envs/prod/main.tf", line: 1, owners: []string{"@alice"}},
	{name: "middle slash not nested", file: "envs/prod/ @alice", path: "x/envs/prod/main.tf", line: 0},
	// A single name without slash matches files or directories anywhere.
	{name: "bare name dir anywhere", file: "modules @m", path: "infra/modules/vpc/main.tf", line: 1, owners: []string{"@m"}},
	{name: "bare name file anywhere", file: "Makefile @m", path: "a/b/Makefile", line: 1, owners: []string{"@m"}},
	// "?" matches one character except "/".
	{name: "question mark", file: "/v?.txt @q", path: "v1.txt", line: 1, owners: []string{"@q"}},
	{name: "question mark not slash", file: "/v?x @q", path: "v/x", line: 0},
	// "*" in a segment does not cross "/".
	{name: "star in segment", file: "/envs/*/main.tf @s", path: "envs/dev/main.tf", line: 1, owners: []string{"@s"}},
	{name: "star in segment not two dirs", file: "/envs/*/main.tf @s", path: "envs/a/b/main.tf", line: 0},
	// Paths are case-sensitive.
	{name: "case sensitive path", file: "/Docs/ @d", path: "docs/a.md", line: 0},
	{name: "case sensitive extension", file: "*.JS @d", path: "a.js", line: 0},
	// Inline comments are allowed.
	{name: "inline comment", file: "*.js    @js-owner #This is an inline comment.", path: "a.js", line: 1, owners: []string{"@js-owner"}},
	{name: "comment line", file: "# *.js @js\n*.go @go", path: "a.js", line: 0},
	// Invalid lines are skipped; the previous matching line applies.
	{name: "negation skipped", file: "*.tf @a\n!envs/prod/*.tf @b", path: "envs/prod/main.tf", line: 1, owners: []string{"@a"}},
	{name: "range skipped", file: "*.tf @a\n/envs/[pd]*/ @b", path: "envs/prod/main.tf", line: 1, owners: []string{"@a"}},
	{name: "escaped hash skipped", file: "* @a\n\\#file @b", path: "#file", line: 1, owners: []string{"@a"}},
	{name: "triple star skipped", file: "* @a\n***/*.rb @b", path: "x/y.rb", line: 1, owners: []string{"@a"}},
	{name: "bad owner skipped", file: "* @a\n*.txt docs@", path: "x.txt", line: 1, owners: []string{"@a"}},
	{name: "blank and CRLF lines keep numbers", file: "\r\n# c\r\n\r\n*.md @m\r\n", path: "README.md", line: 4, owners: []string{"@m"}},
	// Team owners.
	{name: "team owner", file: "/envs/ @acme/platform", path: "envs/dev/a.tf", line: 1, owners: []string{"@acme/platform"}},
	// Characters hmarr/codeowners rejects but file names may contain.
	{name: "tilde in name", file: "/notes~/ @n", path: "notes~/a", line: 1, owners: []string{"@n"}},
	{name: "non-ASCII name", file: "/dokumentation/über.md @u", path: "dokumentation/über.md", line: 1, owners: []string{"@u"}},
	{name: "escaped hash inside pattern", file: `/notes\#1.md @h`, path: "notes#1.md", line: 1, owners: []string{"@h"}},
	{name: "no rules", file: "", path: "a", line: 0},
}

// check parses tt.file, checks the rule it matches tt.path with, and
// returns the parsed file.
func (tt matchCase) check(t *testing.T) *File {
	t.Helper()
	f, err := Parse("CODEOWNERS", []byte(tt.file))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.Match(tt.path)
	if ok != (tt.line != 0) {
		t.Fatalf("Match(%q) ok = %v, want line %d", tt.path, ok, tt.line)
	}
	got := []any{r.Line, r.Owners}
	want := []any{tt.line, tt.owners}
	if diff := cmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Match(%q) [line owners] mismatch (-got +want):\n%s", tt.path, diff)
	}
	return f
}

// errorLines returns the lines f reports as invalid.
func errorLines(f *File) []int {
	var lines []int
	for _, e := range f.Errors {
		lines = append(lines, e.Line)
	}
	return lines
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) { tt.check(t) })
	}
}

// TestOwnMatcherAgreesWithLibrary checks that planbot's own translation,
// used for patterns hmarr/codeowners rejects, matches exactly like the
// library on every pattern the library accepts.
func TestOwnMatcherAgreesWithLibrary(t *testing.T) {
	var paths []string
	for _, c := range matchCases {
		paths = append(paths, c.path)
	}
	paths = append(paths, "", "a", "a/b/c", "docs", "apps", "envs/prod", "build/logs")
	for _, c := range matchCases {
		f, err := Parse("CODEOWNERS", []byte(c.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Ruleset {
			re, err := patternRegexp(r.Pattern)
			if err != nil {
				t.Fatalf("patternRegexp(%q): %v", r.Pattern, err)
			}
			for _, p := range paths {
				if got, want := re.MatchString(p), r.match(p); got != want {
					t.Errorf("pattern %q path %q: own matcher %v, library %v", r.Pattern, p, got, want)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	file := strings.Join([]string{
		"# comment",           // 1
		"* @a",                // 2
		"!negated @b",         // 3
		"/envs/[ab]/ @c",      // 4
		`\#hash @d`,           // 5
		"***/*.rb @e",         // 6
		"*.txt docs@",         // 7
		"*.md @ok user@x.org", // 8
		"/ @root",             // 9
		"*.go @bad!owner",     // 10
		"*.py @py # trailing", // 11
		"",                    // 12
	}, "\n")
	f, err := Parse(".github/CODEOWNERS", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Errors {
		if e.Message == "" {
			t.Errorf("line %d: empty message", e.Line)
		}
	}
	if diff := cmp.Diff(errorLines(f), []int{3, 4, 5, 6, 7, 9, 10}); diff != "" {
		t.Errorf("error lines mismatch (-got +want):\n%s", diff)
	}
	var rules []string
	for _, r := range f.Ruleset {
		rules = append(rules, f.RuleRef(r))
	}
	want := []string{
		".github/CODEOWNERS:2 * @a",
		".github/CODEOWNERS:8 *.md @ok user@x.org",
		".github/CODEOWNERS:11 *.py @py",
	}
	if diff := cmp.Diff(rules, want); diff != "" {
		t.Errorf("rules mismatch (-got +want):\n%s", diff)
	}
}

// TestDifferencesFromLibrary names each place where planbot departs from
// hmarr/codeowners to follow GitHub's documentation.
func TestDifferencesFromLibrary(t *testing.T) {
	tests := []struct {
		matchCase
		errLines []int
	}{
		{
			// The library rejects the whole file; GitHub skips the line.
			matchCase: matchCase{name: "invalid line does not invalidate the file",
				file: "* @a\n!x @b\n*.go @c", path: "main.go", line: 3, owners: []string{"@c"}},
			errLines: []int{2},
		},
		{
			// The library reads `\#x` as the pattern `\`; GitHub says
			// escaping # does not work.
			matchCase: matchCase{name: "escaped hash is rejected",
				file: "* @a\n\\#x @b", path: "#x", line: 1, owners: []string{"@a"}},
			errLines: []int{2},
		},
		{
			// The library accepts "/" silently; GitHub reports it never
			// matches.
			matchCase: matchCase{name: "root slash is reported",
				file: "* @a\n/ @b", path: "x", line: 1, owners: []string{"@a"}},
			errLines: []int{2},
		},
		{
			// The library limits email top-level domains to 6 letters.
			matchCase: matchCase{name: "long top-level domain email",
				file: "*.tf ops@example.technology", path: "main.tf", line: 1, owners: []string{"ops@example.technology"}},
		},
		{
			// The library rejects characters such as '~' and non-ASCII
			// letters in patterns.
			matchCase: matchCase{name: "file name characters",
				file: "* @a\n/docs/naïve~1.md @b", path: "docs/naïve~1.md", line: 2, owners: []string{"@b"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.check(t)
			if diff := cmp.Diff(errorLines(f), tt.errLines); diff != "" {
				t.Errorf("error lines mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	data := []byte(strings.Repeat("* @a\n", MaxSize/5+1))
	_, err := Parse("CODEOWNERS", data)
	if err == nil {
		t.Fatal("want error for a file of 3 MB or more")
	}
	var pe *planbot.Error
	if !errors.As(err, &pe) || pe.Code != planbot.EINVALID {
		t.Errorf("error = %v, want a planbot EINVALID error", err)
	}
	// A file just under the limit loads: one rule padded by a comment.
	under := append([]byte("* @a\n#"), strings.Repeat("x", MaxSize-1-len("* @a\n#"))...)
	if _, err := Parse("CODEOWNERS", under); err != nil {
		t.Errorf("file just under 3 MB: %v", err)
	}
}

func FuzzParseMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.file, c.path)
	}
	f.Fuzz(func(t *testing.T, file, path string) {
		cf, err := Parse("CODEOWNERS", []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		r, ok := cf.Match(path)
		if !ok {
			return
		}
		i := slices.IndexFunc(cf.Ruleset, func(x Rule) bool { return x.Line == r.Line })
		if i < 0 {
			t.Fatalf("matched rule on line %d is not in the ruleset", r.Line)
		}
		for _, e := range cf.Errors {
			if e.Line == r.Line {
				t.Fatalf("skipped line %d matched", e.Line)
			}
		}
		for _, o := range r.Owners {
			if !validOwner(o) {
				t.Fatalf("invalid owner %q accepted", o)
			}
		}
	})
}

// FuzzOwnMatcherAgrees checks planbot's own pattern translation against
// hmarr/codeowners on patterns both accept.
func FuzzOwnMatcherAgrees(f *testing.F) {
	for _, c := range matchCases {
		pattern, _ := splitPattern(strings.TrimSpace(c.file))
		f.Add(pattern, c.path)
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		r, skip, err := parseLine(pattern, map[string]func(string) bool{})
		if skip || err != nil || r.Pattern != pattern {
			return
		}
		re, err := patternRegexp(pattern)
		if err != nil {
			t.Fatalf("patternRegexp(%q): %v", pattern, err)
		}
		if got, want := re.MatchString(path), r.match(path); got != want {
			t.Fatalf("pattern %q path %q: own matcher %v, library %v", pattern, path, got, want)
		}
	})
}
