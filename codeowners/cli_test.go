package codeowners

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/planbot/planbot/golden"
	"github.com/planbot/planbot/treetest"

	"github.com/google/go-cmp/cmp"
)

// cliOwners is the CODEOWNERS file of the CLI tests; line 6 is invalid.
const cliOwners = `# owners of the infra repository
* @acme/platform
/envs/prod/ @alice @acme/sre   # production
/docs/
*.md docs@example.com
!envs/dev/ @nobody
`

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

func TestMainText(t *testing.T) {
	dir, _ := newRepo(t, map[string]string{".github/CODEOWNERS": cliOwners, "CODEOWNERS": "* @decoy\n"})
	code, stdout, stderr := runMain(t, "--repo", dir,
		"envs/prod/main.tf", "./envs/dev/main.tf", "docs/guide/intro.md", "README.md", filepath.Join(dir, "modules", "vpc.tf"))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	checkGolden(t, "owners.txt", stdout)
	if !strings.Contains(stderr, ".github/CODEOWNERS:6: skipped:") {
		t.Errorf("stderr does not report the invalid line 6:\n%s", stderr)
	}
}

func TestMainJSON(t *testing.T) {
	dir, _ := newRepo(t, map[string]string{"docs/CODEOWNERS": cliOwners})
	code, stdout, stderr := runMain(t, "--repo", dir, "--json", "envs/prod/a.tf", "docs/x/y", "docs/readme.md", "envs/dev/b.tf")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	type line struct {
		Path   string   `json:"path"`
		Owners []string `json:"owners"`
		Line   int      `json:"line"`
	}
	var got []line
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("decode %q: %v", stdout, err)
		}
		got = append(got, l)
	}
	want := []line{
		{Path: "envs/prod/a.tf", Owners: []string{"@alice", "@acme/sre"}, Line: 3},
		{Path: "docs/x/y", Owners: []string{}, Line: 4},
		{Path: "docs/readme.md", Owners: []string{"docs@example.com"}, Line: 5},
		{Path: "envs/dev/b.tf", Owners: []string{"@acme/platform"}, Line: 2},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("JSON mismatch (-got +want):\n%s", diff)
	}
	if n := strings.Count(stdout, "\n"); n != 4 {
		t.Errorf("want one object per line, got %d lines:\n%s", n, stdout)
	}
	if !strings.Contains(stderr, "docs/CODEOWNERS:6:") {
		t.Errorf("stderr does not report line 6:\n%s", stderr)
	}
}

func TestMainNoRule(t *testing.T) {
	dir, _ := newRepo(t, map[string]string{"CODEOWNERS": "/envs/ @a\n"})
	code, stdout, _ := runMain(t, "--repo", dir, "--json", "src/main.go")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if diff := cmp.Diff(stdout, `{"path":"src/main.go","owners":[],"line":0}`+"\n"); diff != "" {
		t.Errorf("output mismatch (-got +want):\n%s", diff)
	}
}

func TestMainCodeownersFlag(t *testing.T) {
	dir, _ := newRepo(t, map[string]string{"CODEOWNERS": "* @repo-owner\n"})
	file := filepath.Join(t.TempDir(), "OWNERS")
	if err := os.WriteFile(file, []byte("\n\n*.tf @tf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, "--repo", dir, "--codeowners", file, "--json", "main.tf")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(stdout, `{"path":"main.tf","owners":["@tf"],"line":3}`+"\n"); diff != "" {
		t.Errorf("output mismatch (-got +want):\n%s", diff)
	}
}

func TestMainExitCodes(t *testing.T) {
	dir, _ := newRepo(t, map[string]string{"CODEOWNERS": "* @a\n"})
	bigDir := t.TempDir()
	treetest.Write(t, bigDir, map[string]string{".github/CODEOWNERS": strings.Repeat("#", MaxSize)})
	tests := []struct {
		name string
		args []string
		want int
	}{
		{name: "ok", args: []string{"--repo", dir, "a"}, want: 0},
		{name: "no path", args: []string{"--repo", dir}, want: 2},
		{name: "unknown flag", args: []string{"--nope", "a"}, want: 2},
		{name: "path outside repo", args: []string{"--repo", dir, "../x"}, want: 2},
		{name: "missing codeowners file", args: []string{"--codeowners", filepath.Join(dir, "nope"), "a"}, want: 1},
		{name: "file too large", args: []string{"--repo", bigDir, "a"}, want: 1},
		{name: "no CODEOWNERS is not an error", args: []string{"--repo", t.TempDir(), "a"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, stderr)
			}
		})
	}
}
