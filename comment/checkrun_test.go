package comment

import (
	"strings"
	"testing"

	"github.com/planbot/planbot"
)

func TestCheckRefused(t *testing.T) {
	const secret = "tok-0123456789"
	first := CheckRefused("Apply", "rita", "needs write access", "### `envs/dev`\n\nPlan: 1 to add.\n", nil)
	second := CheckRefused("Apply", "bob", "the approvals are not complete, token "+secret, first, []string{secret})
	if !strings.HasPrefix(second, "### 🚫 Apply refused\n\n@bob: ") || strings.Contains(second, "@rita") || strings.Count(second, "Apply refused") != 1 {
		t.Errorf("second refusal:\n%s", second)
	}
	if !strings.HasSuffix(second, "### `envs/dev`\n\nPlan: 1 to add.\n") {
		t.Errorf("the run's own summary is lost:\n%s", second)
	}
	if strings.Contains(second, secret) {
		t.Error("the refusal shows a secret")
	}
	long := CheckRefused("Apply", "bob", "no", strings.Repeat("line of the summary\n", 5000), nil)
	if len(long) > CheckLimit || !strings.HasPrefix(long, "### 🚫 Apply refused") {
		t.Errorf("refusal over a long summary: %d bytes", len(long))
	}
}

// TestCheckSummaryLimit renders a section longer than the Checks API
// takes, in multi-byte text: it is cut to 65,535 bytes and says so.
func TestCheckSummaryLimit(t *testing.T) {
	var addrs []string
	for i := range 3000 {
		addrs = append(addrs, strings.Repeat("é", 20)+"."+strings.Repeat("x", i%7))
	}
	res := planbot.Result{Project: planbot.Project{Name: "dev", Dir: "envs/dev"}, Status: planbot.StatusPlanned,
		Changes: planbot.Changes{Destroy: 3000, Destroys: addrs}}
	s := CheckSummary(res, Options{})
	if len(s) > CheckLimit || len(s) < CheckLimit/2 {
		t.Errorf("summary of %d bytes, want at most %d and most of it used", len(s), CheckLimit)
	}
	if !strings.Contains(s, checkCut) || !strings.Contains(s, "**Destroys** 3000 resources") {
		t.Errorf("summary does not say it was cut, or lost its head:\n%s", s[:200])
	}
	if got := CheckTitle(planbot.Result{Project: res.Project, Status: planbot.StatusApplied, Changes: planbot.Changes{Add: 1}}); got != "Terraform applied: 1 to add, 0 to change, 0 to destroy" {
		t.Errorf("applied title = %q", got)
	}
}

// FuzzCheckText renders arbitrary plan output, repeated to any length, as
// a check run's text: it always fits the Checks API's limit, in a code
// block.
func FuzzCheckText(f *testing.F) {
	f.Add("  + resource \"x\" {\n      + a = \"é\"\n    }\n", uint16(3000))
	f.Add("```\n~~~\n", uint16(20000))
	f.Add(strings.Repeat("界", 100), uint16(900))
	f.Fuzz(func(t *testing.T, unit string, n uint16) {
		out := strings.Repeat(unit, int(n)%30000)
		text := CheckText(planbot.Result{Project: planbot.Project{Name: "p", Dir: "p"}, Output: out}, Options{})
		if len(text) > CheckLimit {
			t.Fatalf("text of %d bytes", len(text))
		}
		// A line of thousands of backticks needs a longer fence than a
		// part holds; terraform prints none.
		if out != "" && !strings.Contains(out, "``") && !strings.HasPrefix(text, "```") {
			t.Fatalf("text starts %q", text[:min(len(text), 20)])
		}
	})
}
