package workspaces

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// objectReaderIdle is how long an object reader of a repository cache
// waits for its next request before its git process exits.
const objectReaderIdle = time.Minute

// objectReader is one long-running `git cat-file --batch` in a repository
// cache: it reads objects (commits, trees, blobs) without starting a git
// process per read. A plan reads a dozen objects or more (its commits,
// the trees and files of its checkouts, its configuration files), and a
// git process costs a few milliseconds each on a busy machine.
//
// cat-file sees objects that a later fetch adds: git looks for a loose
// object on disk at each request, and for a new pack when an object is in
// none it knows of.
//
// One request runs at a time (mu); the process exits after
// objectReaderIdle without one, when a request fails, and when ctx of a
// request ends during it (it may be stuck), and the next request starts
// a new one.
type objectReader struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *limitedBuffer // read once the process has exited
	idle   *time.Timer
	exited chan struct{} // closed when the process has exited
	closed bool
}

// object is the header of an object that an objectReader read: its type
// ("commit", "tree", "blob", "tag") and size, or an empty type when the
// cache has no such object.
type object struct {
	typ  string
	size int64
}

// readObjects reads the objects names (anything `git rev-parse` takes that
// names one object: a SHA, "<sha>^{tree}", "<sha>:<path>") from the cache
// and calls fn with each, in order, and with a reader of exactly its
// content; fn need not read all of it. A missing object is passed with an
// empty type and an empty reader. An error of fn stops the reading and is
// returned.
func (m *Manager) readObjects(ctx context.Context, cache string, names []string, fn func(i int, o object, content io.Reader) error) error {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "\n\r\x00") {
			return fmt.Errorf("invalid object name %q", n)
		}
	}
	if err := ctx.Err(); err != nil || len(names) == 0 {
		return err
	}
	// A reader found closed (its idle timer closed it meanwhile, or its
	// process exited), or one that died before it answered (killed, say:
	// nothing was handed to fn), is replaced; a few times, not forever, in
	// case git cannot run there at all.
	var err error
	for range 3 {
		var r *objectReader
		if r, err = m.objectReader(cache); err != nil {
			return err
		}
		r.mu.Lock()
		if r.closedLocked() {
			err = fmt.Errorf("git cat-file exited: %s", strings.TrimSpace(r.stderr.String()))
			r.mu.Unlock()
			continue
		}
		var answered int
		answered, err = r.read(ctx, names, fn)
		if err != nil {
			// The process may be half-way through an answer.
			r.cmd.Process.Kill()
			r.closeLocked()
			if s := strings.TrimSpace(r.stderr.String()); s != "" {
				err = fmt.Errorf("%w: %s", err, s)
			}
		} else {
			r.idle.Reset(objectReaderIdle)
		}
		r.mu.Unlock()
		if err == nil || answered > 0 || ctx.Err() != nil {
			return err
		}
		m.logger.Warn("git object reader failed; starting another", "dir", cache, "err", err)
	}
	return fmt.Errorf("workspaces: read objects of %s: %w", cache, err)
}

// objectReader returns the running object reader of cache, starting one
// when there is none.
func (m *Manager) objectReader(cache string) (*objectReader, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.readers[cache]; r != nil && !r.isClosed() {
		return r, nil
	}
	// No request's context: the process outlives the request that starts
	// it. Its pipes are plain files, so that Wait (below) runs beside the
	// reads without closing them.
	cmd := m.command(context.Background(), cache, "", "cat-file", "--batch")
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	r := &objectReader{cmd: cmd, stdin: inW, stdout: bufio.NewReaderSize(outR, 64<<10), stderr: &limitedBuffer{max: maxStderr}, exited: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, r.stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("workspaces: start git cat-file: %w", err)
	}
	go func() {
		cmd.Wait()
		outR.Close()
		close(r.exited)
	}()
	m.logger.Debug("git object reader started", "dir", cache)
	r.idle = time.AfterFunc(objectReaderIdle, r.close)
	if m.readers == nil {
		m.readers = make(map[string]*objectReader)
	}
	m.readers[cache] = r
	return r, nil
}

// Close stops the object readers' git processes. The Manager stays usable:
// a later read starts them again.
func (m *Manager) Close() error {
	m.mu.Lock()
	readers := m.readers
	m.readers = nil
	m.mu.Unlock()
	for _, r := range readers {
		r.close()
	}
	return nil
}

// closeReader stops the object reader of cache, if one runs: a cache made
// anew (see initCache) must not be read by a process that still has the
// old one open.
func (m *Manager) closeReader(cache string) {
	m.mu.Lock()
	r := m.readers[cache]
	delete(m.readers, cache)
	m.mu.Unlock()
	if r != nil {
		r.close()
	}
}

func (r *objectReader) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked()
}

// isClosed reports whether the reader is closed or its process exited. A
// reader busy with a request counts as open; readObjects checks again
// under mu.
func (r *objectReader) isClosed() bool {
	if r.mu.TryLock() {
		defer r.mu.Unlock()
		return r.closedLocked()
	}
	return false
}

// closedLocked is isClosed for a caller that holds mu.
func (r *objectReader) closedLocked() bool {
	select {
	case <-r.exited:
		return true
	default:
		return r.closed
	}
}

// closeLocked ends the git process: its standard input closes, so it exits
// on its own, and it is killed should it not. The caller holds mu.
func (r *objectReader) closeLocked() {
	if r.closed {
		return
	}
	r.closed = true
	r.idle.Stop()
	r.stdin.Close()
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

// read makes one request of names and returns how many of them were
// answered. The caller holds mu.
func (r *objectReader) read(ctx context.Context, names []string, fn func(i int, o object, content io.Reader) error) (answered int, err error) {
	// A request stuck past ctx's end kills the process, which ends the
	// reads below.
	stop := context.AfterFunc(ctx, func() { r.cmd.Process.Kill() })
	defer stop()
	// The names are written while the answers are read, so that neither
	// side waits on a full pipe.
	written := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(r.stdin)
		for _, n := range names {
			w.WriteString(n)
			w.WriteByte('\n')
		}
		written <- w.Flush()
	}()
	for i, n := range names {
		o, err := r.header(n)
		if err != nil {
			return i, failed(ctx, err)
		}
		content := &io.LimitedReader{R: r.stdout, N: o.size}
		if err := fn(i, o, content); err != nil {
			return i + 1, err
		}
		if _, err := io.Copy(io.Discard, content); err != nil {
			return i + 1, failed(ctx, err)
		}
		if o.typ != "" {
			if b, err := r.stdout.ReadByte(); err != nil || b != '\n' {
				return i + 1, failed(ctx, errors.New("object not followed by a newline"))
			}
		}
	}
	if err := <-written; err != nil {
		return len(names), failed(ctx, err)
	}
	return len(names), ctx.Err()
}

// header reads the line that answers the request of name: "<oid> <type>
// <size>", or "<name> missing" (or "ambiguous") for none.
func (r *objectReader) header(name string) (object, error) {
	line, err := r.stdout.ReadString('\n')
	if err != nil {
		return object{}, err
	}
	line = strings.TrimSuffix(line, "\n")
	// git names the input, or the object it resolved to (a submodule's
	// commit, which the cache does not hold): a header never ends so.
	if strings.HasSuffix(line, " missing") || strings.HasSuffix(line, " ambiguous") {
		return object{}, nil
	}
	f := strings.Fields(line)
	if len(f) != 3 || !validSHA(f[0]) {
		return object{}, fmt.Errorf("unexpected answer %q to %q", line, name)
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return object{}, fmt.Errorf("unexpected answer %q to %q", line, name)
	}
	return object{typ: f[1], size: size}, nil
}

// failed describes a failed request, with ctx's end when it killed the
// process; readObjects adds git's stderr once the process has exited.
func failed(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("git cat-file: %w (%w)", ctxErr, err)
	}
	return fmt.Errorf("git cat-file: %w", err)
}
