package kustomize

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// confinedFS is a read-only file system on disk that refuses every path
// that resolves, symbolic links included, outside its root. krusty reads
// through it, so a reference that slips past the checks in Build still
// cannot read outside the workspace.
type confinedFS struct {
	root string // absolute, symlinks resolved
	disk filesys.FileSystem
}

var _ filesys.FileSystem = confinedFS{}

// errReadOnly is returned by the write methods of confinedFS.
var errReadOnly = errors.New("the kustomize workspace is read-only")

// newConfinedFS returns a confinedFS rooted at root, which must exist.
func newConfinedFS(root string) (confinedFS, error) {
	r, err := realPath(root)
	if err != nil {
		return confinedFS{}, err
	}
	return confinedFS{root: r, disk: filesys.MakeFsOnDisk()}, nil
}

// realPath returns the absolute form of p with symbolic links resolved in
// the longest prefix of p that exists.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	cur := abs
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}

// within reports whether p, a path on disk, is root or lies below it.
func within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// check returns an error when p resolves outside the root.
func (c confinedFS) check(p string) error {
	r, err := realPath(p)
	if err != nil {
		return err
	}
	if !within(c.root, r) {
		return fmt.Errorf("path %s is outside the workspace root", p)
	}
	return nil
}

func (c confinedFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (c confinedFS) Mkdir(string) error                  { return errReadOnly }
func (c confinedFS) MkdirAll(string) error               { return errReadOnly }
func (c confinedFS) RemoveAll(string) error              { return errReadOnly }
func (c confinedFS) WriteFile(string, []byte) error      { return errReadOnly }

func (c confinedFS) Open(p string) (filesys.File, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.disk.Open(p)
}

func (c confinedFS) IsDir(p string) bool {
	return c.check(p) == nil && c.disk.IsDir(p)
}

func (c confinedFS) ReadDir(p string) ([]string, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.disk.ReadDir(p)
}

func (c confinedFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if err := c.check(p); err != nil {
		return "", "", err
	}
	return c.disk.CleanedAbs(p)
}

func (c confinedFS) Exists(p string) bool {
	return c.check(p) == nil && c.disk.Exists(p)
}

func (c confinedFS) Glob(pattern string) ([]string, error) {
	matches, err := c.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var in []string
	for _, m := range matches {
		if c.check(m) == nil {
			in = append(in, m)
		}
	}
	return in, nil
}

func (c confinedFS) ReadFile(p string) ([]byte, error) {
	if err := c.check(p); err != nil {
		return nil, err
	}
	return c.disk.ReadFile(p)
}

func (c confinedFS) Walk(p string, fn filepath.WalkFunc) error {
	if err := c.check(p); err != nil {
		return err
	}
	return c.disk.Walk(p, fn)
}
