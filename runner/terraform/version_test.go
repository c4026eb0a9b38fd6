package terraform

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/planbot/planbot"
)

func TestVersion(t *testing.T) {
	forEachEngine(t, func(t *testing.T, r *Runner) {
		v, err := r.Version(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
			t.Errorf("Version = %q, want a semantic version", v)
		}
		b, err := FindBinary(context.Background(), r.Bin)
		if err != nil || b.Engine != r.Engine {
			t.Errorf("FindBinary(%s) = %+v, %v; want engine %s", r.Bin, b, err, r.Engine)
		}
	})
	if _, err := (&Runner{Bin: "/nonexistent/terraform"}).Version(context.Background()); err == nil {
		t.Error("a missing binary reported a version")
	}
	if _, err := (&Runner{Bin: "/nonexistent/terraform"}).Version(context.Background(), UseEngine(planbot.EngineOpenTofu)); planbot.ErrorCode(err) != planbot.ENOTFOUND {
		t.Errorf("Version of an engine without a binary = %v, want ENOTFOUND", err)
	}
}

// TestVersionAsksOncePerBinary: the version of a binary is asked once,
// and again when the binary is replaced.
func TestVersionAsksOncePerBinary(t *testing.T) {
	dir := t.TempDir()
	bin, calls := filepath.Join(dir, "terraform"), filepath.Join(dir, "calls")
	r := &Runner{Bin: bin, Versions: &VersionMemo{}}
	// Each run appends one byte to calls. The versions differ in length,
	// so the two scripts differ in size whatever the clock's resolution.
	write := func(version string) {
		script := "#!/bin/sh\nprintf x >> " + calls + "\necho '{\"terraform_version\":\"" + version + "\"}'\n"
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want string, wantCalls int) {
		t.Helper()
		v, err := r.Version(context.Background())
		if err != nil || v != want {
			t.Fatalf("Version = %q, %v; want %q", v, err, want)
		}
		b, _ := os.ReadFile(calls)
		if n := len(b); n != wantCalls {
			t.Errorf("the binary ran %d times, want %d", n, wantCalls)
		}
	}
	write("1.5.7")
	check("1.5.7", 1)
	check("1.5.7", 1)
	write("1.9.80")
	check("1.9.80", 2)
	check("1.9.80", 2)
	r.Versions = nil
	check("1.9.80", 3)
}
