package terraform

import (
	"context"
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
