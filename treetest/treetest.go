// Package treetest writes trees of files for tests: a repository's
// checkout, a Terraform root, a Kustomize overlay. Files are given as a
// map from slash-separated paths to contents; directories are made as
// needed.
package treetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes files under dir.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// New writes files into a new temporary directory and returns it.
func New(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}
