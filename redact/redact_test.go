package redact

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/redact/redacttest"
)

func TestRedact(t *testing.T) {
	const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabcDEF==\n-----END RSA PRIVATE KEY-----"
	for _, tc := range []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{name: "secret value", in: `password = "s3cr3t-pw" and s3cr3t-pw`, secrets: []string{"s3cr3t-pw"}, want: `password = "***" and ***`},
		{name: "short and empty secrets skipped", in: "the cat sat", secrets: []string{"", "cat", "sat"}, want: "the cat sat"},
		{name: "longest secret first", in: "abcdefgh-tail", secrets: []string{"abcdef", "abcdefgh-tail"}, want: "***"},
		{name: "classic token", in: "token ghp_0123456789abcdefghijABCDEFGHIJ012345 end", want: "token ghp_*** end"},
		{name: "installation token", in: "x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com", want: "x-access-token:ghs_***@github.com"},
		{name: "stateless installation token", in: "token ghs_4242_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MiJ9.c2lnbmF0dXJl-_x here", want: "token ghs_*** here"},
		{name: "oauth user refresh tokens", in: "gho_aaaaaaaaaaaaaaaaaaaaaaaa ghu_bbbbbbbbbbbbbbbbbbbbbbbb ghr_cccccccccccccccccccccccc", want: "gho_*** ghu_*** ghr_***"},
		{name: "fine-grained pat", in: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV", want: "github_pat_***"},
		{name: "too short to be a token", in: "ghp_abc and gh_pages", want: "ghp_abc and gh_pages"},
		{name: "pem block", in: "key = <<EOT\n" + pem + "\nEOT", want: "key = <<EOT\n[REDACTED PRIVATE KEY]\nEOT"},
		{name: "pem without end", in: "a\n-----BEGIN PRIVATE KEY-----\nMIIE\nmore", want: "a\n[REDACTED PRIVATE KEY]"},
		{name: "public key kept", in: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", want: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{name: "two pem blocks", in: pem + "\nmid\n" + strings.ReplaceAll(pem, "RSA", "EC"), want: "[REDACTED PRIVATE KEY]\nmid\n[REDACTED PRIVATE KEY]"},
		{name: "aws key id", in: "AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A", want: "AKIA*** and ASIA***"},
		{name: "aws secret hcl", in: `aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, want: `aws_secret_access_key = "***"`},
		{name: "aws secret ini upper", in: "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", want: "AWS_SECRET_ACCESS_KEY=***"},
		{name: "aws secret json", in: `"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`, want: `"SecretAccessKey": "***"`},
		{name: "session token yaml", in: "aws_session_token: IQoJb3JpZ2luX2VjEJr//////////wEaCXVz", want: "aws_session_token: ***"},
		{name: "sensitive value kept", in: `+ password = (sensitive value)`, want: `+ password = (sensitive value)`},
		{name: "plain text kept", in: "Plan: 1 to add, 0 to change, 0 to destroy.", want: "Plan: 1 to add, 0 to change, 0 to destroy."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := String(tc.in, tc.secrets)
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("String(%q) (-got +want):\n%s", tc.in, diff)
			}
			if len(got) > len(tc.in) {
				t.Errorf("Redact made the text longer: %d > %d bytes", len(got), len(tc.in))
			}
		})
	}
}

func TestRedactTenMB(t *testing.T) {
	in, secrets := redacttest.TenMB()
	got := String(in, []string{"my-db-password-42"})
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("Redact left %q in a 10 MB text", s)
		}
	}
	if len(got) > len(in) || len(got) < len(in)*9/10 {
		t.Errorf("Redact changed the size from %d to %d bytes", len(in), len(got))
	}
}

func BenchmarkRedactTenMB(b *testing.B) {
	in, _ := redacttest.TenMB()
	secrets := []string{"my-db-password-42", "another-secret"}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		String(in, secrets)
	}
}

// BenchmarkRedactAdversarial feeds text made of near-matches of every
// pattern, to show that Redact stays linear.
func BenchmarkRedactAdversarial(b *testing.B) {
	in := strings.Repeat("ghp_ AKIA aws_secret_access_key = -----BEGIN X PRIVATE KEY---- ", 10<<20/64)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		String(in, nil)
	}
}
