// Package redacttest makes large Terraform plan outputs for tests, with
// and without credentials spread through them: the inputs that redaction,
// and everything that renders or posts plan output, must handle whole.
package redacttest

import (
	"fmt"
	"strings"
)

// Plan returns plan output of at least size bytes that creates many
// objects.
func Plan(size int) string {
	var b strings.Builder
	b.WriteString("Terraform will perform the following actions:\n\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  # aws_s3_object.file[%d] will be created\n  + resource \"aws_s3_object\" \"file\" {\n      + bucket = \"logs\"\n      + key    = \"k/%d\"\n    }\n\n", i, i)
	}
	b.WriteString("Plan: many to add, 0 to change, 0 to destroy.\n")
	return b.String()
}

// TenMB returns about 10 MB of plan output with credentials spread
// through it, and the credentials: a GitHub token, an AWS key id and
// secret key, a private key's body and a password.
func TenMB() (string, []string) {
	secrets := []string{
		"ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		"AKIAIOSFODNN7EXAMPLE",
		"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"MIIEpAIBAAKCAQEAkeybody",
		"my-db-password-42",
	}
	chunk := Plan(100 << 10)
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
