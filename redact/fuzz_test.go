package redact

import (
	"strings"
	"testing"
)

// FuzzRedact checks, for any text and secret values, that String never
// panics, never makes the text longer, leaves none of the secrets it masks
// in its result, and changes nothing in a text it already masked.
func FuzzRedact(f *testing.F) {
	for _, seed := range []struct{ s, secret1, secret2 string }{
		{`password = "s3cr3t-pw" and s3cr3t-pw`, "s3cr3t-pw", ""},
		{"abcdefgh-tail", "abcdef", "abcdefgh-tail"},
		{"token ghp_0123456789abcdefghijABCDEFGHIJ012345 end", "", ""},
		{"x-access-token:ghs_4242_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MiJ9.c2lnbmF0dXJl-_x@github.com", "", ""},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----tail", "KEY]tail", ""},
		{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AKIAIOSFODNN7EXAMPLE", "EXAMPLE", ""},
		{"**abcdef******", "abcdef", "******"},
	} {
		f.Add(seed.s, seed.secret1, seed.secret2)
	}
	f.Fuzz(func(t *testing.T, s, secret1, secret2 string) {
		secrets := []string{secret1, secret2}
		got := String(s, secrets)
		if len(got) > len(s) {
			t.Errorf("String made the text longer: %d > %d bytes", len(got), len(s))
		}
		for _, v := range secrets {
			if len(v) >= MinSecretLen && strings.Contains(got, v) {
				t.Errorf("String(%q) = %q still contains the secret %q", s, got, v)
			}
		}
		if again := String(got, secrets); again != got {
			t.Errorf("String is not idempotent on %q:\nonce:  %q\ntwice: %q", s, got, again)
		}
	})
}
