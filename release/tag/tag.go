// Package tag reads release tags: git tag names such as
// "shop/production/2026/12/02/1030-ana-api,worker" that ask planbot to
// release images of a product to an environment.
//
// A Pattern is compiled from a template of literal text, placeholders and
// optional groups. The placeholders are <product>, <env>, <yyyy>, <mm>,
// <dd>, <hhmm>, <name> and <services>; text between "[" and "]" may be
// left out of a tag as a whole. Default is the pattern planbot uses when a
// repository names none:
//
//	<product>/<env>/<yyyy>/<mm>/<dd>/<hhmm>-<name>[-<services>]
//
// <services> is a comma-separated list of service names; a tag without it
// releases every service of the product. <name> (who or what the release
// is for) never holds "-", so "1030-ana-api" is name "ana" and service
// "api". A tag parses only when the whole name matches, and its date and
// time are real ones.
package tag

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Default is the tag pattern of a repository that sets none.
const Default = "<product>/<env>/<yyyy>/<mm>/<dd>/<hhmm>-<name>[-<services>]"

// maxLen bounds patterns and tag names: git refs are short in practice,
// and the regexp of a pattern grows with it.
const maxLen = 255

// Placeholders and the text each matches.
var placeholders = map[string]string{
	"product":  `[A-Za-z0-9][A-Za-z0-9_.-]*`,
	"env":      `[A-Za-z0-9][A-Za-z0-9_.-]*`,
	"yyyy":     `[0-9]{4}`,
	"mm":       `[0-9]{2}`,
	"dd":       `[0-9]{2}`,
	"hhmm":     `[0-9]{4}`,
	"name":     `[A-Za-z0-9_.]+`,
	"services": `[A-Za-z0-9][A-Za-z0-9_.-]*(?:,[A-Za-z0-9][A-Za-z0-9_.-]*)*`,
}

// Tag is a parsed release tag. Fields whose placeholder the pattern lacks,
// or whose optional group the tag left out, are empty.
type Tag struct {
	// Raw is the tag name as parsed.
	Raw     string
	Product string
	Env     string
	// Year, Month, Day and HHMM are the digits of the tag.
	Year, Month, Day, HHMM string
	Name                   string
	// Services are the listed services, in the tag's order; none means
	// every service of the product.
	Services []string
}

// Time returns the tag's date and time in UTC, and false when the pattern
// has no date.
func (t Tag) Time() (time.Time, bool) {
	if t.Year == "" || t.Month == "" || t.Day == "" {
		return time.Time{}, false
	}
	hhmm := t.HHMM
	if hhmm == "" {
		hhmm = "0000"
	}
	v, err := time.Parse("20060102 1504", t.Year+t.Month+t.Day+" "+hhmm)
	return v, err == nil
}

// Pattern is a compiled tag pattern.
type Pattern struct {
	src   string
	re    *regexp.Regexp
	names []string // the regexp's group names, by group index
	// parts is the pattern as literal text, placeholders and groups, for
	// Format.
	parts []part
}

// part is a piece of a pattern: literal text, a placeholder, or an
// optional group of parts.
type part struct {
	lit, placeholder string
	group            []part
}

// String returns the pattern's source.
func (p *Pattern) String() string { return p.src }

// Compile compiles a pattern. It must hold <product> and <env> outside any
// optional group, each placeholder at most once, balanced brackets, and
// <yyyy>, <mm> and <dd> all or none.
func Compile(src string) (*Pattern, error) {
	if src == "" {
		return nil, fmt.Errorf("tag pattern is empty")
	}
	if len(src) > maxLen {
		return nil, fmt.Errorf("tag pattern is longer than %d characters", maxLen)
	}
	c := &compiler{src: src, seen: map[string]bool{}}
	parts, err := c.parts(0)
	if err != nil {
		return nil, err
	}
	if c.pos < len(src) {
		return nil, fmt.Errorf("tag pattern %q: unbalanced %q at %d", src, "]", c.pos+1)
	}
	for _, req := range []string{"product", "env"} {
		if !slices.Contains(topLevel(parts), req) {
			return nil, fmt.Errorf("tag pattern %q: <%s> is required outside [ ]", src, req)
		}
	}
	if d := c.seen["yyyy"]; d != c.seen["mm"] || d != c.seen["dd"] {
		return nil, fmt.Errorf("tag pattern %q: <yyyy>, <mm> and <dd> go together", src)
	}
	var re strings.Builder
	re.WriteString("^")
	names := writeRegexp(&re, parts)
	re.WriteString("$")
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		return nil, fmt.Errorf("tag pattern %q: %v", src, err)
	}
	return &Pattern{src: src, re: compiled, names: names, parts: parts}, nil
}

// MustCompile is Compile for patterns known to be valid, such as Default.
func MustCompile(src string) *Pattern {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

// topLevel returns the placeholders of parts outside groups.
func topLevel(parts []part) []string {
	var out []string
	for _, p := range parts {
		if p.placeholder != "" {
			out = append(out, p.placeholder)
		}
	}
	return out
}

// compiler reads a pattern's source.
type compiler struct {
	src  string
	pos  int
	seen map[string]bool
}

// parts reads parts until the end of the source or, inside a group
// (depth > 0), its closing bracket.
func (c *compiler) parts(depth int) ([]part, error) {
	var out []part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for c.pos < len(c.src) {
		ch := c.src[c.pos]
		switch ch {
		case '<':
			end := strings.IndexByte(c.src[c.pos:], '>')
			if end < 0 {
				return nil, fmt.Errorf("tag pattern %q: unclosed %q at %d", c.src, "<", c.pos+1)
			}
			name := c.src[c.pos+1 : c.pos+end]
			if _, ok := placeholders[name]; !ok {
				return nil, fmt.Errorf("tag pattern %q: unknown placeholder <%s> (want product, env, yyyy, mm, dd, hhmm, name or services)", c.src, name)
			}
			if c.seen[name] {
				return nil, fmt.Errorf("tag pattern %q: <%s> appears twice", c.src, name)
			}
			c.seen[name] = true
			flush()
			out = append(out, part{placeholder: name})
			c.pos += end + 1
		case '[':
			flush()
			c.pos++
			g, err := c.parts(depth + 1)
			if err != nil {
				return nil, err
			}
			if len(topLevel(g)) == 0 {
				// Without a placeholder of its own, whether a tag has
				// the group could not be told from its parts.
				return nil, fmt.Errorf("tag pattern %q: each [ ] needs a placeholder of its own", c.src)
			}
			out = append(out, part{group: g})
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("tag pattern %q: unbalanced %q at %d", c.src, "]", c.pos+1)
			}
			flush()
			c.pos++
			return out, nil
		case '>':
			return nil, fmt.Errorf("tag pattern %q: unbalanced %q at %d", c.src, ">", c.pos+1)
		default:
			if ch < 0x20 || ch == 0x7f {
				return nil, fmt.Errorf("tag pattern %q: control character at %d", c.src, c.pos+1)
			}
			lit.WriteByte(ch)
			c.pos++
		}
	}
	if depth > 0 {
		return nil, fmt.Errorf("tag pattern %q: unclosed %q", c.src, "[")
	}
	flush()
	return out, nil
}

// writeRegexp writes the regexp of parts to b and returns the placeholder
// of each capturing group, in order.
func writeRegexp(b *strings.Builder, parts []part) []string {
	var names []string
	for _, p := range parts {
		switch {
		case p.placeholder != "":
			b.WriteString("(" + placeholders[p.placeholder] + ")")
			names = append(names, p.placeholder)
		case p.group != nil:
			b.WriteString("(?:")
			names = append(names, writeRegexp(b, p.group)...)
			b.WriteString(")?")
		default:
			b.WriteString(regexp.QuoteMeta(p.lit))
		}
	}
	return names
}

// Matches reports whether name has the shape of the pattern, whatever its
// values: a push of a tag that does not is no release at all.
func (p *Pattern) Matches(name string) bool {
	return len(name) <= maxLen && p.re.MatchString(name)
}

// Parse parses a tag name. It fails when the name does not match the
// pattern, or its date or time is not a real one.
func (p *Pattern) Parse(name string) (Tag, error) {
	if len(name) > maxLen {
		return Tag{}, fmt.Errorf("tag %q is longer than %d characters", name[:32]+"…", maxLen)
	}
	m := p.re.FindStringSubmatch(name)
	if m == nil {
		return Tag{}, fmt.Errorf("tag %q does not match the pattern %s", name, p.src)
	}
	t := Tag{Raw: name}
	fields := t.fields()
	for i, v := range m[1:] {
		if f, ok := fields[p.names[i]]; ok {
			*f = v
		} else if p.names[i] == "services" && v != "" {
			t.Services = strings.Split(v, ",")
		}
	}
	if t.Year != "" {
		if _, err := time.Parse("20060102", t.Year+t.Month+t.Day); err != nil {
			return Tag{}, fmt.Errorf("tag %q: %s-%s-%s is not a date", name, t.Year, t.Month, t.Day)
		}
	}
	if t.HHMM != "" {
		if _, err := time.Parse("1504", t.HHMM); err != nil {
			return Tag{}, fmt.Errorf("tag %q: %s is not a time (hhmm)", name, t.HHMM)
		}
	}
	for i, s := range t.Services {
		if slices.Contains(t.Services[:i], s) {
			return Tag{}, fmt.Errorf("tag %q names service %s twice", name, s)
		}
	}
	return t, nil
}

// Format writes t by the pattern: the inverse of Parse. An optional group
// is written when every placeholder in it has a value.
func (p *Pattern) Format(t Tag) string {
	var b strings.Builder
	formatParts(&b, p.parts, t)
	return b.String()
}

func formatParts(b *strings.Builder, parts []part, t Tag) {
	for _, p := range parts {
		switch {
		case p.placeholder != "":
			b.WriteString(value(t, p.placeholder))
		case p.group != nil:
			if filled(p.group, t) {
				formatParts(b, p.group, t)
			}
		default:
			b.WriteString(p.lit)
		}
	}
}

// filled reports whether every placeholder of parts, outside their own
// groups, has a value in t: a group that matched set them all.
func filled(parts []part, t Tag) bool {
	for _, p := range parts {
		if p.placeholder != "" && value(t, p.placeholder) == "" {
			return false
		}
	}
	return true
}

func value(t Tag, placeholder string) string {
	if f, ok := t.fields()[placeholder]; ok {
		return *f
	}
	if placeholder == "services" {
		return strings.Join(t.Services, ",")
	}
	return ""
}

// fields maps each placeholder but <services>, the one list, to its field
// of t: Parse sets them and Format reads them.
func (t *Tag) fields() map[string]*string {
	return map[string]*string{
		"product": &t.Product,
		"env":     &t.Env,
		"yyyy":    &t.Year,
		"mm":      &t.Month,
		"dd":      &t.Day,
		"hhmm":    &t.HHMM,
		"name":    &t.Name,
	}
}
