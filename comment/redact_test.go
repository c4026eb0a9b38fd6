package comment

import (
	"strings"
	"testing"

	"github.com/planbot/planbot/redact/redacttest"
)

func TestRenderRedactsEverything(t *testing.T) {
	in, secrets := redacttest.TenMB()
	r := report(
		tfResult("envs/a", in),
		tfResult("envs/b", "small\n"),
	)
	r.Results[1].Error = "failed with " + secrets[0]
	r.Results[1].Fmt = secrets[1]
	r.Notes = []string{"note " + secrets[4]}
	parts := Render(r, Options{Secrets: []string{"my-db-password-42"}, MaxOutputRunes: 20 << 20})
	checkParts(t, r, parts, DefaultLimit)
	for i, p := range parts {
		for _, s := range secrets {
			if strings.Contains(p, s) {
				t.Errorf("part %d shows %q", i+1, s)
			}
		}
		// A key body cut from its BEGIN line by a part boundary must not leak.
		if strings.Contains(p, "keybody") {
			t.Errorf("part %d shows a private key body", i+1)
		}
	}
}
