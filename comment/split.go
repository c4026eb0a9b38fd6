package comment

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// A block is a construct that must not be cut by a part boundary: a
// <details> element or a code fence. open, reopen and close are the lines
// that open it, reopen it at the start of a continuation part, and close
// it.
type block struct {
	open, reopen, close []string
}

// detailsBlock returns a <details> block with the given (already escaped)
// summary, expanded when open is set.
func detailsBlock(summary string, open bool) block {
	tag := "<details>"
	if open {
		tag = "<details open>"
	}
	return block{
		open:   []string{tag + "<summary>" + summary + "</summary>", ""},
		reopen: []string{tag + "<summary>" + summary + " (continued)</summary>", ""},
		close:  []string{"</details>", ""},
	}
}

// fenceBlock returns a code fence for content with the given info string.
// The fence is longer than any backtick run that starts a line of content,
// so the content cannot end it early.
func fenceBlock(lang, content string) block {
	n := 3
	for line := range strings.Lines(content) {
		line = strings.TrimLeft(line, " ")
		run := len(line) - len(strings.TrimLeft(line, "`"))
		n = max(n, run+1)
	}
	fence := strings.Repeat("`", n)
	return block{
		open:   []string{fence + lang},
		reopen: []string{fence + lang},
		close:  []string{fence, ""},
	}
}

// An op is one step of a rendered section: a line, or the opening or
// closing of a block.
type op struct {
	line  string
	open  *block // set for an opening
	close bool   // set for a closing
}

// section is the rendered body of one project (or of the notes), the unit
// that the splitter prefers to keep in one part.
type section struct {
	ops []op
}

func (s *section) line(ls ...string) {
	for _, l := range ls {
		s.ops = append(s.ops, op{line: l})
	}
}

func (s *section) open(b block) { s.ops = append(s.ops, op{open: &b}) }
func (s *section) close()       { s.ops = append(s.ops, op{close: true}) }

// cost returns the number of runes the section takes when it is not split.
func (s *section) cost() int {
	n := 0
	for _, o := range s.ops {
		switch {
		case o.open != nil:
			n += linesCost(o.open.open) + linesCost(o.open.close)
		case o.close:
		default:
			n += lineCost(o.line)
		}
	}
	return n
}

// lineCost is the number of runes a line takes in a body, counting its
// newline.
func lineCost(s string) int { return utf8.RuneCountInString(s) + 1 }

func linesCost(ls []string) int {
	n := 0
	for _, l := range ls {
		n += lineCost(l)
	}
	return n
}

// frame is an open block on the splitter's stack; emitted reports whether
// its opening lines are already in the current part, and reopened whether
// the current part continues it from an earlier one.
type frame struct {
	b        block
	emitted  bool
	reopened bool
}

// splitter lays sections out into parts of at most budget runes, where
// every part but the first begins with a header of contHeader runes.
type splitter struct {
	budget     int
	contHeader int
	maxLine    int

	parts   [][]string
	cur     []string
	size    int
	hasBody bool // the current part holds a line after its header
	stack   []*frame
}

func newSplitter(budget, firstHeader, contHeader int) *splitter {
	return &splitter{
		budget:     budget,
		contHeader: contHeader,
		size:       firstHeader,
		// A single line may take at most a quarter of a part.
		maxLine: max(budget/4, 40),
	}
}

// closeCost is the number of runes needed to close every open block.
func (sp *splitter) closeCost() int {
	n := 0
	for _, f := range sp.stack {
		n += linesCost(f.b.close)
	}
	return n
}

// pendingCost is the number of runes needed to emit the opening lines of
// the blocks that are open but not yet written to the current part.
func (sp *splitter) pendingCost() int {
	n := 0
	for _, f := range sp.stack {
		if !f.emitted {
			n += linesCost(f.opening())
		}
	}
	return n
}

func (f *frame) opening() []string {
	if f.reopened {
		return f.b.reopen
	}
	return f.b.open
}

// newPart closes the open blocks and starts a continuation part in which
// they will be reopened.
func (sp *splitter) newPart() {
	for i := len(sp.stack) - 1; i >= 0; i-- {
		if f := sp.stack[i]; f.emitted {
			sp.cur = append(sp.cur, f.b.close...)
		}
	}
	sp.parts = append(sp.parts, sp.cur)
	sp.cur = nil
	sp.size = sp.contHeader
	sp.hasBody = false
	for _, f := range sp.stack {
		if f.emitted {
			f.reopened = true
		}
		f.emitted = false
	}
}

// addLine appends a line, starting a new part first when it does not fit.
func (sp *splitter) addLine(l string) {
	l = clipLine(l, sp.maxLine)
	need := func() int { return sp.pendingCost() + lineCost(l) + sp.closeCost() }
	if sp.size+need() > sp.budget && sp.hasBody {
		sp.newPart()
	}
	if avail := sp.budget - sp.size - sp.pendingCost() - sp.closeCost(); lineCost(l) > avail {
		// Only reachable for a part without body, when the limit is
		// tiny: shorten the line rather than break the limit.
		if avail < 2 {
			return
		}
		l = clipLine(l, avail-1)
	}
	for _, f := range sp.stack {
		if !f.emitted {
			o := f.opening()
			sp.cur = append(sp.cur, o...)
			sp.size += linesCost(o)
			f.emitted = true
		}
	}
	sp.cur = append(sp.cur, l)
	sp.size += lineCost(l)
	sp.hasBody = true
}

// addSection lays out one section, moving it to a fresh part when it does
// not fit in the current one but would fit in an empty one.
func (sp *splitter) addSection(s section) {
	c := s.cost()
	if sp.hasBody && sp.size+c > sp.budget && sp.contHeader+c <= sp.budget {
		sp.newPart()
	}
	for _, o := range s.ops {
		switch {
		case o.open != nil:
			sp.stack = append(sp.stack, &frame{b: *o.open})
		case o.close:
			f := sp.stack[len(sp.stack)-1]
			sp.stack = sp.stack[:len(sp.stack)-1]
			if f.emitted {
				// Its cost was reserved by every line added since it opened.
				sp.cur = append(sp.cur, f.b.close...)
				sp.size += linesCost(f.b.close)
			}
		default:
			sp.addLine(o.line)
		}
	}
	// A section always closes what it opens; be defensive anyway.
	for len(sp.stack) > 0 {
		f := sp.stack[len(sp.stack)-1]
		sp.stack = sp.stack[:len(sp.stack)-1]
		if f.emitted {
			sp.cur = append(sp.cur, f.b.close...)
			sp.size += linesCost(f.b.close)
		}
	}
}

// finish returns the bodies of all parts, without their headers.
func (sp *splitter) finish() [][]string {
	return append(sp.parts, sp.cur)
}

// clipLine shortens a line to at most n runes, saying how much was cut.
func clipLine(l string, n int) string {
	c := utf8.RuneCountInString(l)
	if c <= n {
		return l
	}
	note := func(cut int) string { return " … (" + strconv.Itoa(cut) + " more characters)" }
	keep := n - utf8.RuneCountInString(note(c-n))
	for keep > 0 && keep+utf8.RuneCountInString(note(c-keep)) > n {
		keep--
	}
	if keep < 1 {
		if n <= 0 {
			return ""
		}
		return runePrefix(l, n-1) + "…"
	}
	return runePrefix(l, keep) + note(c-keep)
}

// runePrefix returns the first n runes of s.
func runePrefix(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
