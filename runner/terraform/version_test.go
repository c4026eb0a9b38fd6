package terraform

import (
	"context"
	"os/exec"
	"regexp"
	"testing"
)

func TestVersion(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform is not on PATH")
	}
	v, err := (&Runner{Bin: bin}).Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Errorf("Version = %q, want a semantic version", v)
	}
	if _, err := (&Runner{Bin: "/nonexistent/terraform"}).Version(context.Background()); err == nil {
		t.Error("a missing binary reported a version")
	}
}
