package terraform

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/treetest"
)

// TestFmtCheckMatchesOneByOne checks several directories with FmtCheck and
// each with Plan's own check, on real terraform, and wants the same output
// for each: formatted and unformatted files, variables files, a
// directory nested in another, one with several unformatted files.
func TestFmtCheckMatchesOneByOne(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	root := treetest.New(t, map[string]string{
		"envs/dev/main.tf":        "resource \"terraform_data\" \"x\" {\ninput=\"1\"\n}\n",
		"envs/dev/vars.tf":        "variable \"v\" {\n  type = \"string\"\n}\n",
		"envs/dev/dev.tfvars":     "x=1\ny  = 2\n",
		"envs/prod/main.tf":       "resource \"terraform_data\" \"x\" {\n  input = \"1\"\n}\n",
		"envs/main.tf":            "locals {\na=1\n}\n",
		"envs/staging/eu/main.tf": "locals {\n  a = \"${var.x}\"\n}\n\nvariable \"x\" {}\n",
	})
	dirs := []string{"envs/dev", "envs/prod", "envs", "envs/staging/eu"}
	got, err := r.FmtCheck(ctx, root, dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, d := range dirs {
		s, err := r.open(filepath.Join(root, d), Root(root))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.fmtCheck(ctx)
		s.close()
		if err != nil {
			t.Fatalf("fmt check of %s: %v", d, err)
		}
		want[d] = out
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("FmtCheck (-got +want):\n%s", diff)
	}
	if want["envs/dev"] == "" || want["envs/prod"] != "" {
		t.Errorf("the fixture does not test what it should: %q", want)
	}

	// A syntax error anywhere fails the whole check.
	bad := treetest.New(t, map[string]string{"a/main.tf": "locals {\n", "b/main.tf": "locals {\na=1\n}\n"})
	if _, err := r.FmtCheck(ctx, bad, []string{"a", "b"}); err == nil {
		t.Error("FmtCheck of a directory with a syntax error: no error")
	}
}
