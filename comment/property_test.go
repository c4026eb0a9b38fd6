package comment

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/planbot/planbot"
)

// randomText returns n lines of plan-like text that also tries to break the
// layout: backtick runs, HTML, long lines and multi-byte runes.
func randomText(rng *rand.Rand, n int) string {
	pieces := []string{
		`  + resource "aws_instance" "web" {`,
		`      ~ tags = { "a" = "b" }`,
		`-/+ resource "x" "y" {`,
		"```",
		"````hcl",
		"</details>",
		"<details><summary>x</summary>",
		"  # ünïcödé ✓ 🚀 resource",
		"",
		"@@ -1 +1 @@",
	}
	var b strings.Builder
	for range n {
		if rng.IntN(400) == 0 {
			b.WriteString(strings.Repeat("x✓", rng.IntN(20000)))
		} else {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func randomResult(rng *rand.Rand, i int) planbot.Result {
	statuses := []planbot.Status{planbot.StatusPlanned, planbot.StatusNoChange, planbot.StatusFailed,
		planbot.StatusLocked, planbot.StatusDeleted, planbot.StatusApplied}
	size := []int{0, 3, 50, 500, 5000}[rng.IntN(5)]
	res := planbot.Result{
		Project:  planbot.Project{Name: fmt.Sprintf("p%d", i), Dir: fmt.Sprintf("envs/dir-%d|x`y", i), Workspace: []string{"", "default", "prod"}[rng.IntN(3)], Kind: planbot.KindTerraform},
		Status:   statuses[rng.IntN(len(statuses))],
		Summary:  "Plan: 1 to add, 2 to change, 3 to destroy.",
		Output:   randomText(rng, size),
		Duration: time.Duration(rng.IntN(1000)) * time.Second,
		LockedBy: rng.IntN(100),
	}
	if rng.IntN(3) == 0 {
		res.Fmt = randomText(rng, rng.IntN(200))
	}
	if res.Status == planbot.StatusFailed {
		res.Error = randomText(rng, rng.IntN(300))
	}
	for j := range rng.IntN(30) {
		res.Changes.Destroys = append(res.Changes.Destroys, fmt.Sprintf("aws_instance.web[%d]", j))
		res.Changes.Drift = append(res.Changes.Drift, fmt.Sprintf("aws_s3_bucket.b[%d]", j))
	}
	if rng.IntN(4) == 0 {
		res.Project.Kind = planbot.KindKustomize
		m := &planbot.ManifestDiff{Added: rng.IntN(3), Changed: rng.IntN(3), Removed: rng.IntN(3)}
		for j := range rng.IntN(10) {
			m.Resources = append(m.Resources, planbot.ResourceChange{Kind: "Deployment", Namespace: "ns", Name: fmt.Sprintf("d%d", j),
				Action: "changed", Diff: randomText(rng, rng.IntN(400))})
		}
		res.Manifest = m
	}
	return res
}

func TestRenderProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		n := 1 + rng.IntN(10)
		var results []planbot.Result
		for j := range n {
			results = append(results, randomResult(rng, j))
		}
		r := report(results...)
		if rng.IntN(3) == 0 {
			r.Notes = []string{randomText(rng, 3), "note"}
		}
		limit := 4000 + rng.IntN(60000)
		opts := Options{Limit: limit}
		if rng.IntN(2) == 0 {
			opts.MaxOutputRunes = 1000 + rng.IntN(50000)
		}
		t.Run(fmt.Sprintf("case%d-limit%d-projects%d", i, limit, n), func(t *testing.T) {
			checkParts(t, r, Render(r, opts), limit)
		})
	}
}
