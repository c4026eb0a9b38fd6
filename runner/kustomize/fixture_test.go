package kustomize

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/treetest"
	"golang.org/x/tools/txtar"
)

// extract writes the files of testdata/name into a new temporary directory
// and returns it.
func extract(t testing.TB, name string) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range ar.Files {
		write(t, root, f.Name, string(f.Data))
	}
	return root
}

// copyTree copies the regular files of src into a new temporary directory.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, ".git"+string(filepath.Separator)) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		write(t, dst, filepath.ToSlash(rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// preparedKey prepares the overlay dir of root and returns its input and
// its cache key.
func preparedKey(t testing.TB, root, dir string) (*input, string) {
	t.Helper()
	in, err := prepare(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := in.key()
	if err != nil {
		t.Fatal(err)
	}
	return in, key
}

// write writes content to root/rel.
func write(t testing.TB, root, rel, content string) {
	t.Helper()
	treetest.Write(t, root, map[string]string{rel: content})
}

// edit replaces old by new in root/rel and fails when old is absent.
func edit(t testing.TB, root, rel, old, new string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	write(t, root, rel, strings.Replace(string(data), old, new, 1))
}

// git runs git in dir and returns its output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=planbot", "GIT_AUTHOR_EMAIL=planbot@example.com",
		"GIT_COMMITTER_NAME=planbot", "GIT_COMMITTER_EMAIL=planbot@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
