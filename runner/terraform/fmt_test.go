package terraform

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
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

// TestFmtBeside plans an unformatted root three times, on real terraform:
// checking formatting first (no option), beside init and plan in a slot
// that FmtBeside's try gives, and first again when try gives none. The
// three plans report the same formatting output and the same outcome; the
// slot is given back exactly once, and only when taken.
func TestFmtBeside(t *testing.T) {
	r := realRunner(t)
	ctx := context.Background()
	files := map[string]string{
		"envs/dev/main.tf": "resource \"terraform_data\" \"x\" {\ninput=\"1\"\n}\n",
	}
	plan := func(opts ...RunOption) planbot.Result {
		t.Helper()
		root := treetest.New(t, files)
		res, err := r.Plan(ctx, filepath.Join(root, "envs/dev"), "", append([]RunOption{Root(root)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	want := plan()
	if want.Fmt == "" || want.Status != planbot.StatusPlanned {
		t.Fatalf("the fixture does not test what it should: status %s, fmt %q", want.Status, want.Fmt)
	}

	var taken, released atomic.Int32
	try := func(free bool) func() (func(), bool) {
		return func() (func(), bool) {
			if !free {
				return nil, false
			}
			taken.Add(1)
			return func() { released.Add(1) }, true
		}
	}
	for _, free := range []bool{true, false} {
		taken.Store(0)
		released.Store(0)
		got := plan(FmtBeside(try(free)))
		if got.Fmt != want.Fmt || got.Status != want.Status || got.Summary != want.Summary {
			t.Errorf("slot free %v: status %s, summary %q, fmt %q; want %s, %q, %q", free, got.Status, got.Summary, got.Fmt, want.Status, want.Summary, want.Fmt)
		}
		wantTaken := map[bool]int32{true: 1, false: 0}[free]
		if taken.Load() != wantTaken || released.Load() != wantTaken {
			t.Errorf("slot free %v: taken %d, released %d times; want %d", free, taken.Load(), released.Load(), wantTaken)
		}
	}

	// A root that does not parse fails in init, beside or not, and the
	// slot still goes back.
	files = map[string]string{"envs/dev/main.tf": "locals {\n"}
	taken.Store(0)
	released.Store(0)
	bad, besideBad := plan(), plan(FmtBeside(try(true)))
	if bad.Status != planbot.StatusFailed || besideBad.Status != planbot.StatusFailed || besideBad.Fmt != bad.Fmt {
		t.Errorf("syntax error: status %s, fmt %q beside; %s, %q first", besideBad.Status, besideBad.Fmt, bad.Status, bad.Fmt)
	}
	if released.Load() != 1 {
		t.Errorf("syntax error: slot released %d times, want 1", released.Load())
	}
}
