package comment

import (
	"strings"
	"testing"
)

// tenMB returns about 10 MB of plan output with credentials spread
// through it.
func tenMB() (string, []string) {
	secrets := []string{
		"ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		"AKIAIOSFODNN7EXAMPLE",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"MIIEpAIBAAKCAQEAkeybody",
		"my-db-password-42",
	}
	chunk := bigPlan(100 << 10)
	var b strings.Builder
	for i := 0; b.Len() < 10<<20; i++ {
		b.WriteString(chunk)
		switch i % 5 {
		case 0:
			b.WriteString("      + token = \"" + secrets[0] + "\"\n")
		case 1:
			b.WriteString("      + key_id = \"" + secrets[1] + "\"\n")
		case 2:
			b.WriteString("      + aws_secret_access_key = \"" + secrets[2] + "\"\n")
		case 3:
			b.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n" + secrets[3] + "\n-----END OPENSSH PRIVATE KEY-----\n")
		case 4:
			b.WriteString("      + password = \"" + secrets[4] + "\"\n")
		}
	}
	return b.String(), secrets
}

func TestRenderRedactsEverything(t *testing.T) {
	in, secrets := tenMB()
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
