package comment

import (
	"strings"
	"unicode/utf8"
)

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdEscaper escapes the characters that would turn plain text into
// Markdown or HTML.
var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"\\", "\\\\", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "|", "\\|", "~", "\\~",
)

// escapeText returns s as literal Markdown text.
func escapeText(s string) string { return mdEscaper.Replace(s) }

// codeSpan returns s as an inline code span, with a delimiter that s does
// not contain.
func codeSpan(s string) string {
	s = oneLine(s)
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	d := "``"
	for strings.Contains(s, d) {
		d += "`"
	}
	return d + " " + s + " " + d
}

// tableEscape escapes the pipes that would end a table cell.
func tableEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// textBlock renders text, capped, in a fenced code block.
func textBlock(s *section, lang, text string, opts Options, fn func(string) string) {
	fencedLines(s, lang, capText(text, opts.MaxOutputRunes), fn)
}

func fencedLines(s *section, lang, text string, fn func(string) string) {
	text = strings.TrimRight(text, "\n")
	s.open(fenceBlock(lang, text))
	for l := range strings.SplitSeq(text, "\n") {
		s.line(fn(strings.TrimRight(l, "\r")))
	}
	s.close()
}

// lineCount returns the number of lines of s.
func lineCount(s string) int {
	return strings.Count(strings.TrimRight(s, "\n"), "\n") + 1
}

// capText keeps the first two thirds and the last third of the allowed
// runes of s, cut at line boundaries, with a line counting what was left
// out between them.
func capText(s string, maxRunes int) string {
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	headEnd := lineCut(s, maxRunes*2/3)
	tailStart := len(s) - lineCutBack(s[headEnd:], maxRunes/3)
	omitted := strings.Count(s[headEnd:tailStart], "\n")
	if omitted == 0 {
		omitted = 1
	}
	return s[:headEnd] + "… " + plural(omitted, "line") + " omitted …\n" + s[tailStart:]
}

// lineCut returns the byte offset just after the last newline within the
// first n runes of s (or after n runes when there is none).
func lineCut(s string, n int) int {
	end := len(s)
	i := 0
	for j := range s {
		if i == n {
			end = j
			break
		}
		i++
	}
	if k := strings.LastIndexByte(s[:end], '\n'); k >= 0 {
		return k + 1
	}
	return end
}

// lineCutBack returns the length in bytes of the longest suffix of s that
// holds at most n runes and starts at a line boundary (or is n runes long
// when no line boundary fits).
func lineCutBack(s string, n int) int {
	start := len(s)
	for i := 0; i < n && start > 0; i++ {
		_, size := utf8.DecodeLastRuneInString(s[:start])
		start -= size
	}
	if start == 0 {
		return len(s)
	}
	if k := strings.IndexByte(s[start-1:], '\n'); k >= 0 && start-1+k+1 < len(s) {
		return len(s) - (start + k)
	}
	return len(s) - start
}

// planDiffLine moves terraform's action marker to column 0 so that GitHub's
// diff highlighter colors the line; see the package documentation.
func planDiffLine(l string) string {
	rest := strings.TrimLeft(l, " ")
	indent := l[:len(l)-len(rest)]
	for _, m := range [...]struct{ marker, sym string }{
		{"-/+ ", "!"}, {"+/- ", "!"}, {"+ ", "+"}, {"- ", "-"}, {"~ ", "!"},
	} {
		if strings.HasPrefix(rest, m.marker) {
			return m.sym + indent + strings.Repeat(" ", len(m.marker)-1) + rest[len(m.marker):]
		}
	}
	switch rest {
	case "+", "-":
		return rest + indent
	case "~":
		return "!" + indent
	}
	if len(l) > 0 && (l[0] == '+' || l[0] == '-' || l[0] == '!' || l[0] == '@') {
		// A line that would be read as a marker without being one.
		return " " + l
	}
	return l
}
