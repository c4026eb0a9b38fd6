// Package command parses the commands that users give planbot in pull
// request comments.
//
// The model: a comment is a command only when its first line (after any
// leading whitespace) starts with one of /plan, /apply, /unlock, /promote
// or /help.
// Everything else is ordinary conversation and is ignored without a reply.
// A first word that looks like a mistyped command ("/aply", "/Plan",
// "/apply-all") is answered with a short usage text instead, so that a typo
// never passes silently. Lines after the first are never read.
//
// /promote takes exactly one argument, the environment to promote a
// merged release pull request to, with the same character set as names.
// The other commands take at most one selector, either -p NAME (or --project NAME)
// to pick a project by name, or -d DIR (or --dir DIR) to pick it by
// directory. Nothing else is accepted: no other flags, no "=" forms, no
// extra words. Values are checked against a small safe character set
// (ASCII letters, digits, '.', '_', '-', '/'), may not start with '-', and
// directories are cleaned to a repo-relative slash path that never contains
// a ".." segment and is never absolute. The parsed values are only ever
// compared with configured projects; they are never passed to terraform.
package command

import (
	"fmt"
	"path"
	"strings"

	"github.com/planbot/planbot"
)

// The command names.
const (
	Plan   = "plan"
	Apply  = "apply"
	Unlock = "unlock"
	Help   = "help"
	// Promote opens the release of a merged release pull request's images
	// to another environment.
	Promote = "promote"
)

// maxValueLen bounds the length of a project name or directory.
const maxValueLen = 256

// names returns the known commands in the order Usage documents them.
func names() [5]string { return [...]string{Plan, Apply, Unlock, Promote, Help} }

// Command is a parsed comment command. At most one of Project and Dir is
// set; when both are empty the command is about every project of the pull
// request.
type Command struct {
	// Name is Plan, Apply, Unlock or Help.
	Name string
	// Project is the project name given with -p.
	Project string
	// Dir is the cleaned, repo-relative directory given with -d ("." for
	// the repository root).
	Dir string
	// Env is the environment of /promote.
	Env string
}

// String returns the command as a user would type it.
func (c Command) String() string {
	s := "/" + c.Name
	switch {
	case c.Env != "":
		s += " " + c.Env
	case c.Project != "":
		s += " -p " + c.Project
	case c.Dir != "":
		s += " -d " + c.Dir
	}
	return s
}

// Parse parses a comment body. ok reports whether the body is a valid
// command. A body that is not addressed to planbot returns ok false and a
// nil error, so normal conversation is ignored. A body that is addressed to
// planbot but malformed returns an *planbot.Error with code EINVALID whose
// message is a short usage text fit to post as a reply.
func Parse(body string) (cmd Command, ok bool, err error) {
	line := strings.TrimLeft(body, " \t\r\n")
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if !strings.HasPrefix(line, "/") {
		return Command{}, false, nil
	}
	fields := strings.Fields(line)
	word := fields[0][1:]
	name, known := lookup(word)
	if !known {
		if near := suggest(word); near != "" {
			return Command{}, false, usageError("`/%s` is not a planbot command; did you mean `/%s`?", sanitize(word), near)
		}
		return Command{}, false, nil
	}
	cmd.Name = name
	args := fields[1:]
	if name == Promote {
		return parsePromote(args)
	}
	for len(args) > 0 {
		flag := args[0]
		var target *string
		switch flag {
		case "-p", "--project":
			target = &cmd.Project
		case "-d", "--dir":
			target = &cmd.Dir
		default:
			if strings.HasPrefix(flag, "-") {
				return Command{}, false, usageError("`/%s`: unknown flag `%s`.", name, sanitize(flag))
			}
			return Command{}, false, usageError("`/%s`: unexpected argument `%s`.", name, sanitize(flag))
		}
		if name == Help {
			return Command{}, false, usageError("`/help` takes no arguments.")
		}
		if cmd.Project != "" || cmd.Dir != "" {
			return Command{}, false, usageError("`/%s`: give at most one of `-p NAME` or `-d DIR`.", name)
		}
		if len(args) < 2 {
			return Command{}, false, usageError("`/%s`: `%s` needs a value.", name, flag)
		}
		v, err := checkValue(flag, args[1])
		if err != nil {
			return Command{}, false, usageError("`/%s`: %s", name, err)
		}
		*target = v
		args = args[2:]
	}
	return cmd, true, nil
}

// parsePromote parses the arguments of /promote: one environment name.
func parsePromote(args []string) (Command, bool, error) {
	switch {
	case len(args) == 0:
		return Command{}, false, usageError("`/promote` needs the environment to promote to, as in `/promote production`.")
	case len(args) > 1:
		return Command{}, false, usageError("`/promote` takes one environment, not `%s`.", sanitize(strings.Join(args, " ")))
	}
	env := args[0]
	if len(env) > maxValueLen || strings.HasPrefix(env, "-") || strings.ContainsAny(env, "/") {
		return Command{}, false, usageError("`/promote`: `%s` is not an environment name.", sanitize(env))
	}
	for i := 0; i < len(env); i++ {
		if !safeByte(env[i]) {
			return Command{}, false, usageError("`/promote`: an environment name may only contain letters, digits, `.`, `_` and `-`.")
		}
	}
	return Command{Name: Promote, Env: env}, true, nil
}

// lookup returns the command a first word names exactly.
func lookup(word string) (string, bool) {
	for _, n := range names() {
		if word == n {
			return n, true
		}
	}
	return "", false
}

// suggest returns the known command that word is a likely typo of, or ""
// when word looks unrelated (such as "/cc" or a path like "/usr/bin").
func suggest(word string) string {
	lower := strings.ToLower(word)
	for _, n := range names() {
		// "/Plan", "/APPLY".
		if lower == n {
			return n
		}
		// "/apply-all", "/plan:", "/unlock!" but not "/planning".
		if rest, ok := strings.CutPrefix(lower, n); ok && rest != "" && !isLetter(rest[0]) {
			return n
		}
	}
	best, bestDist := "", 3
	for _, n := range names() {
		limit := 1
		if len(n) > 4 {
			limit = 2
		}
		if d := distance(lower, n); d <= limit && d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// distance returns the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions each
// cost one. Words longer than 16 bytes are never close to a command.
func distance(a, b string) int {
	if len(a) > 16 || len(b) > 16 {
		return 1 << 20
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// checkValue validates the value of a -p or -d flag and returns it in
// canonical form.
func checkValue(flag, v string) (string, error) {
	if len(v) > maxValueLen {
		return "", fmt.Errorf("the value of `%s` is longer than %d characters.", flag, maxValueLen)
	}
	if strings.HasPrefix(v, "-") {
		return "", fmt.Errorf("`%s` needs a value, not a flag.", flag)
	}
	for i := 0; i < len(v); i++ {
		if !safeByte(v[i]) {
			return "", fmt.Errorf("the value of `%s` may only contain letters, digits, `.`, `_`, `-` and `/`.", flag)
		}
	}
	if strings.HasPrefix(v, "/") {
		return "", fmt.Errorf("`%s` must be relative to the repository root, not absolute.", flag)
	}
	for _, seg := range strings.Split(v, "/") {
		if seg == ".." {
			return "", fmt.Errorf("the value of `%s` may not contain `..`.", flag)
		}
	}
	if flag == "-p" || flag == "--project" {
		return v, nil
	}
	dir := path.Clean(v)
	if strings.HasPrefix(dir, "-") {
		return "", fmt.Errorf("`%s` needs a directory, not a flag.", flag)
	}
	return dir, nil
}

// safeByte reports whether b may appear in a project name or directory.
func safeByte(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	case b == '.', b == '_', b == '-', b == '/':
		return true
	}
	return false
}

// sanitize shortens user text that is echoed back in a reply and strips
// characters that could break out of the inline code span.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 40 {
			b.WriteString("…")
			break
		}
		if r == '`' || r < ' ' || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// usageError returns an EINVALID error whose message is msg followed by the
// short usage text.
func usageError(format string, args ...any) error {
	return planbot.Errorf(planbot.EINVALID, "%s\n\n%s", fmt.Sprintf(format, args...), shortUsage)
}

const shortUsage = "Usage: `/plan`, `/apply`, `/unlock` or `/help`, optionally followed by `-p NAME` or `-d DIR`; `/promote ENV` on a merged release pull request."

// Usage returns the markdown help text that planbot posts in reply to
// /help.
func Usage() string {
	return `**planbot commands**

Write the command at the start of the first line of a comment. Other lines are ignored.

| command | what it does |
|---|---|
| ` + "`/plan`" + ` | plans every project changed by this pull request again |
| ` + "`/apply`" + ` | applies the saved plans once the required code owners have approved the head commit |
| ` + "`/unlock`" + ` | releases the locks this pull request holds and discards its plans |
| ` + "`/promote ENV`" + ` | on a merged release pull request, opens the release of the same images to the environment ` + "`ENV`" + ` |
| ` + "`/help`" + ` | shows this text |

` + "`/plan`, `/apply` and `/unlock`" + ` take at most one selector:

* ` + "`-p NAME`" + ` (or ` + "`--project NAME`" + `) selects one project by name;
* ` + "`-d DIR`" + ` (or ` + "`--dir DIR`" + `) selects the project in a repo-relative directory, for example ` + "`/plan -d envs/dev`" + `.

Names and directories may contain letters, digits, ` + "`.`, `_`, `-` and `/`" + `; directories must be relative and may not contain ` + "`..`" + `.
`
}
