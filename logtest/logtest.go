// Package logtest sends what code under test logs to the test's own
// output, where `go test` shows it with the test that wrote it, and keeps
// a copy when the test searches the logs (for a secret that must not be
// there, or for a message that must).
package logtest

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers: a log
// sink, or a command's output, that a test reads while it is written.
type Buffer struct {
	mu sync.Mutex // mu guards b
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// New returns a text logger at debug level that writes every record to
// t's output and to each of also.
func New(t testing.TB, also ...io.Writer) *slog.Logger {
	w := io.MultiWriter(append([]io.Writer{t.Output()}, also...)...)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Capture returns New's logger and a Buffer that keeps what it logs.
func Capture(t testing.TB) (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return New(t, b), b
}
