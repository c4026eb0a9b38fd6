// Package logmask keeps secrets out of logs: a slog.Handler that passes
// every record's message and attribute values through a masking function
// before the handler it wraps sees them.
package logmask

import (
	"context"
	"log/slog"
)

// Handler masks secrets in records and hands them to the next handler.
type Handler struct {
	next slog.Handler
	mask func(string) string
}

// New returns a Handler that masks with mask and logs to next.
func New(next slog.Handler, mask func(string) string) *Handler {
	return &Handler{next: next, mask: mask}
}

// Enabled reports whether next handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle masks r's message and attributes and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks attrs once and returns a handler that adds them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(masked), mask: h.mask}
}

// WithGroup returns a handler that puts later attributes in group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), mask: h.mask}
}

// attr masks the value of a: strings, errors and anything else printed
// as text, and the members of groups.
func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.mask(v.String()))
	case slog.KindGroup:
		members := v.Group()
		masked := make([]any, len(members))
		for i, m := range members {
			masked[i] = h.attr(m)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.mask(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, h.mask(s.String()))
		}
		return a
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
