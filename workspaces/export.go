package workspaces

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/planbot/planbot"
)

// treeEntry is one entry of a commit's tree: its slash-separated path
// from the root, its mode as git writes it in a tree ("100644", "100755",
// "120000" for a symlink, "40000" for a directory, "160000" for a
// submodule) and its object name.
type treeEntry struct {
	path string
	mode string
	oid  string
}

// errNeedsGit tells that a commit holds what only git's own checkout
// writes exactly: a .gitattributes file (which can convert line endings
// or expand keywords on checkout), or an entry name or mode that git's
// checkout would refuse or treat in its own way.
var errNeedsGit = errors.New("the commit needs a git checkout")

// export writes the files of commit sha, which the cache holds, into dir,
// a directory that must not exist yet, as a git checkout would: regular
// files with git's two modes (0666 or 0777, less the umask), symlinks
// with their targets as they are, an empty directory for a submodule,
// and no .git entry. The files are read through the cache's object
// reader, so no git process starts. The directory is made under a
// temporary name and renamed, so it is never seen half made.
//
// It returns errNeedsGit, and makes nothing, for a commit whose checkout
// only git reproduces exactly; Checkout then adds a git worktree.
func (m *Manager) export(ctx context.Context, cache, sha, dir string) error {
	entries, err := m.listTree(ctx, cache, sha)
	if err != nil {
		return err
	}
	// Not os.MkdirTemp, which makes it 0700: a checkout's root is made
	// like its directories.
	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(dir), ".export-"+hex.EncodeToString(suffix[:]))
	if err := os.Mkdir(tmp, 0o777); err != nil {
		return err
	}
	if err := m.writeTree(ctx, cache, entries, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// writeTree writes entries, parents before children, into dir.
func (m *Manager) writeTree(ctx context.Context, cache string, entries []treeEntry, dir string) error {
	var blobs []string
	var files []treeEntry
	for _, e := range entries {
		switch e.mode {
		case "40000", "160000":
			if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(e.path)), 0o777); err != nil {
				return err
			}
		default:
			blobs = append(blobs, e.oid)
			files = append(files, e)
		}
	}
	return m.readObjects(ctx, cache, blobs, func(i int, o object, content io.Reader) error {
		e := files[i]
		if o.typ != "blob" {
			return fmt.Errorf("workspaces: %s: object %s is not a blob", e.path, e.oid)
		}
		p := filepath.Join(dir, filepath.FromSlash(e.path))
		if e.mode == "120000" {
			target, err := io.ReadAll(content)
			if err != nil {
				return err
			}
			return os.Symlink(string(target), p)
		}
		perm := fs.FileMode(0o666)
		if e.mode == "100755" {
			perm = 0o777
		}
		return writeNew(p, content, perm)
	})
}

// listTree returns every entry of the tree of commit sha, parents before
// children, reading one level of directories per request. It returns
// errNeedsGit for a tree that only git checks out exactly (see
// errNeedsGit), and an ENOTFOUND error when the cache lacks the commit.
func (m *Manager) listTree(ctx context.Context, cache, sha string) ([]treeEntry, error) {
	var entries []treeEntry
	names, dirs := []string{sha + "^{tree}"}, []string{""}
	needsGit := false
	for len(names) > 0 && !needsGit {
		var nextNames, nextDirs []string
		err := m.readObjects(ctx, cache, names, func(i int, o object, content io.Reader) error {
			if o.typ != "tree" {
				return planbot.Errorf(planbot.ENOTFOUND, "tree %s of commit %s is not in the cache", names[i], short(sha))
			}
			data, err := io.ReadAll(content)
			if err != nil {
				return err
			}
			level, err := parseTree(data, dirs[i], len(sha)/2)
			if errors.Is(err, errNeedsGit) {
				// Not an error of the request: the reader reads the rest
				// of it and stays.
				needsGit = true
				return nil
			}
			if err != nil {
				return err
			}
			for _, e := range level {
				if e.mode == "40000" {
					nextNames, nextDirs = append(nextNames, e.oid), append(nextDirs, e.path)
				}
			}
			entries = append(entries, level...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		names, dirs = nextNames, nextDirs
	}
	if needsGit {
		return nil, errNeedsGit
	}
	return entries, nil
}

// parseTree parses the content of a tree object at path dir ("" for the
// root) whose object names are hashLen bytes long: entries "<mode>
// <name>\x00<binary name>".
func parseTree(data []byte, dir string, hashLen int) ([]treeEntry, error) {
	var out []treeEntry
	seen := make(map[string]bool)
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp < 0 || nul < sp || nul+1+hashLen > len(data) {
			return nil, errors.New("workspaces: malformed tree object")
		}
		mode, name := string(data[:sp]), string(data[sp+1:nul])
		oid := hex.EncodeToString(data[nul+1 : nul+1+hashLen])
		data = data[nul+1+hashLen:]
		if mode == "100664" {
			mode = "100644" // written by very old git; checked out as 100644
		}
		if !exportable(name, mode) || seen[name] {
			return nil, errNeedsGit
		}
		seen[name] = true
		path := name
		if dir != "" {
			path = dir + "/" + name
		}
		out = append(out, treeEntry{path: path, mode: mode, oid: oid})
	}
	return out, nil
}

// exportable reports whether export writes an entry called name of mode
// exactly as git's checkout would: the name is one git checks out on any
// platform and is no .gitattributes file, and the mode is one of git's.
func exportable(name, mode string) bool {
	switch mode {
	case "100644", "100755", "120000", "40000", "160000":
	default:
		return false
	}
	trimmed := strings.ToLower(strings.TrimRight(name, ". "))
	switch {
	case name == "" || name == "." || name == "..",
		strings.ContainsAny(name, "/\\"),
		trimmed == ".git" || trimmed == "git~1",
		trimmed == ".gitattributes",
		trimmed == ".gitmodules" && mode != "100644":
		return false
	}
	return true
}

// holdsCommit reports whether dir, a directory without .git, holds every
// entry of the tree of commit sha unchanged, as `git status` would find a
// worktree of it clean: the same kind, the executable bit of regular
// files, and content of the object's name. Entries of dir that the tree
// lacks (.terraform, a saved plan) do not matter.
func (m *Manager) holdsCommit(ctx context.Context, cache, sha, dir string) bool {
	entries, err := m.listTree(ctx, cache, sha)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return false
		}
		p := filepath.Join(dir, filepath.FromSlash(e.path))
		info, err := os.Lstat(p)
		if err != nil {
			return false
		}
		var sum string
		switch mode := info.Mode(); e.mode {
		case "40000", "160000":
			if !mode.IsDir() {
				return false
			}
			continue
		case "120000":
			if mode&fs.ModeSymlink == 0 {
				return false
			}
			target, err := os.Readlink(p)
			if err != nil {
				return false
			}
			sum = blobName(len(sha), strings.NewReader(target), int64(len(target)))
		default:
			if !mode.IsRegular() || (mode&0o100 != 0) != (e.mode == "100755") {
				return false
			}
			sum = fileBlobName(len(sha), p, info.Size())
		}
		if sum != e.oid {
			return false
		}
	}
	return true
}

// fileBlobName is blobName of the file at path, "" when it cannot be read.
func fileBlobName(hexLen int, path string, size int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return blobName(hexLen, f, size)
}

// blobName returns the name git gives a blob of size bytes read from r,
// in a repository whose names are hexLen hex digits (SHA-1 or SHA-256),
// or "" when r does not hold size bytes.
func blobName(hexLen int, r io.Reader, size int64) string {
	var h hash.Hash = sha1.New()
	if hexLen == 64 {
		h = sha256.New()
	}
	h.Write([]byte("blob " + strconv.FormatInt(size, 10) + "\x00"))
	if n, err := io.Copy(h, r); err != nil || n != size {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
