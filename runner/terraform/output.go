package terraform

import (
	"fmt"
	"unicode/utf8"
)

// DefaultOutputLimit is the number of bytes of any one output kept when
// Runner.OutputLimit is zero.
const DefaultOutputLimit = 256 << 10

// boundedBuffer is an io.Writer that keeps the first and the last bytes
// written to it, up to limit bytes in all, and counts the bytes in
// between that it dropped. It is not safe for concurrent use.
type boundedBuffer struct {
	limit int
	head  []byte
	// tail is a ring of the last bytes written once head is full; start
	// is the index of its oldest byte when it is full.
	tail    []byte
	start   int
	omitted int64
}

func newBoundedBuffer(limit int) *boundedBuffer {
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	return &boundedBuffer{limit: limit}
}

func (b *boundedBuffer) headCap() int { return b.limit - b.limit/2 }
func (b *boundedBuffer) tailCap() int { return b.limit / 2 }

// Write implements io.Writer. It never fails.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.headCap() - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	tc := b.tailCap()
	for _, c := range p {
		if tc == 0 {
			b.omitted++
			continue
		}
		if len(b.tail) < tc {
			b.tail = append(b.tail, c)
			continue
		}
		b.tail[b.start] = c
		b.start = (b.start + 1) % tc
		b.omitted++
	}
	return n, nil
}

// String returns the kept bytes, with a marker in place of the omitted
// ones. The cut is moved to UTF-8 boundaries, so multi-byte characters
// are never split.
func (b *boundedBuffer) String() string {
	tail := make([]byte, 0, len(b.tail))
	tail = append(tail, b.tail[b.start:]...)
	tail = append(tail, b.tail[:b.start]...)
	if b.omitted == 0 {
		return string(b.head) + string(tail)
	}
	head, tail := b.head, tail
	omitted := b.omitted
	for i := 0; i < utf8.UTFMax-1 && len(head) > 0; i++ {
		if r, size := utf8.DecodeLastRune(head); r != utf8.RuneError || size > 1 {
			break
		}
		head = head[:len(head)-1]
		omitted++
	}
	for i := 0; i < utf8.UTFMax-1 && len(tail) > 0 && !utf8.RuneStart(tail[0]); i++ {
		tail = tail[1:]
		omitted++
	}
	return fmt.Sprintf("%s\n… %d bytes omitted …\n%s", head, omitted, tail)
}

// limit returns s cut to at most n bytes (DefaultOutputLimit when n is
// zero), keeping its head and tail.
func limit(s string, n int) string {
	b := newBoundedBuffer(n)
	b.Write([]byte(s))
	return b.String()
}
