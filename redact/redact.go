// Package redact masks secrets in text planbot shows or keeps: PR
// comments and replies, stored plan output, audit details and log records
// all pass through it.
//
// Two kinds of value are masked: the literal secret values planbot knows
// (the webhook secret, the credentials it hands terraform, the values of a
// project's sensitive variables), and strings that look like credentials
// whatever they are (GitHub tokens, PEM private keys, AWS keys). Masking
// never makes a text longer, and masking a masked text changes nothing.
package redact

import (
	"slices"
	"strings"
)

// MinSecretLen is the length in bytes under which a secret value passed to
// String is ignored: masking very short values would mask ordinary words.
const MinSecretLen = 6

// Mask replaces a redacted value.
const Mask = "***"

// redactedKey replaces a whole PEM private key block.
const redactedKey = "[REDACTED PRIVATE KEY]"

// String returns s with every occurrence of the given secret values masked
// (values shorter than MinSecretLen are skipped) and with strings that
// look like credentials masked: GitHub tokens (ghp_, gho_, ghu_, ghs_,
// ghr_, github_pat_), PEM private key blocks, AWS access key ids (AKIA,
// ASIA) and the values of secret_access_key and aws_session_token
// assignments in HCL, INI, YAML, JSON or shell syntax. Terraform's
// "(sensitive value)" is left alone.
//
// String never makes s longer, and String of its own result returns that
// result unchanged. It uses no regular expressions: every rule
// is a literal search followed by a bounded scan, so its cost is linear in
// the length of s whatever the input.
func String(s string, secrets []string) string {
	// A mask can complete a new match: "KEY]" of a masked key block
	// followed by the rest of a secret value. Every pass that changes s
	// makes it shorter, so passes until one changes nothing are few, and
	// the result is one that String leaves as it is.
	for {
		t := pass(s, secrets)
		if t == s {
			return s
		}
		s = t
	}
}

// pass applies every rule once.
func pass(s string, secrets []string) string {
	s = redactValues(s, secrets)
	s = redactPEM(s)
	s = redactGitHubTokens(s)
	s = redactAWSKeyIDs(s, "AKIA")
	s = redactAWSKeyIDs(s, "ASIA")
	for _, key := range []string{"secret_access_key", "secretaccesskey", "aws_session_token"} {
		s = redactAssignments(s, key)
	}
	return s
}

// redactValues masks the given literal secrets, longest first so that a
// secret containing another one is masked whole.
func redactValues(s string, secrets []string) string {
	var vals []string
	for _, v := range secrets {
		if len(v) >= MinSecretLen && strings.Contains(s, v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return s
	}
	slices.SortFunc(vals, func(a, b string) int { return len(b) - len(a) })
	args := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		args = append(args, v, Mask)
	}
	return strings.NewReplacer(args...).Replace(s)
}

// replaceAll finds the occurrences of needle in s and lets match decide,
// for each one at offset i, whether s[i:end] is replaced by repl.
func replaceAll(s, needle string, match func(s string, i int) (end int, repl string, ok bool)) string {
	return replaceFound(s, s, needle, func(i int) (int, int, string, bool) {
		end, repl, ok := match(s, i)
		return i, end, repl, ok
	})
}

// replaceFound finds the occurrences of needle in find, which has the byte
// offsets of s, and lets match decide, for each one at offset i, whether
// s[start:end] is replaced by repl.
func replaceFound(s, find, needle string, match func(i int) (start, end int, repl string, ok bool)) string {
	if !strings.Contains(find, needle) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last, pos := 0, 0
	for {
		j := strings.Index(find[pos:], needle)
		if j < 0 {
			break
		}
		i := pos + j
		start, end, repl, ok := match(i)
		if !ok {
			pos = i + 1
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(repl)
		last, pos = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// run returns the end of the run of bytes from i that satisfy ok.
func run(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isUpperAlnum(c byte) bool { return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

func isBase64(c byte) bool { return isAlnum(c) || c == '/' || c == '+' || c == '=' }

// redactGitHubTokens masks GitHub tokens, keeping their prefix.
func redactGitHubTokens(s string) string {
	s = replaceAll(s, "gh", func(s string, i int) (int, string, bool) {
		if i+4 > len(s) || !strings.ContainsRune("pousr", rune(s[i+2])) || s[i+3] != '_' {
			return 0, "", false
		}
		// Classic tokens are alphanumeric; stateless installation tokens
		// (ghs_APPID_JWT) add '_' and the JWT's '-' and '.'.
		end := run(s, i+4, func(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' })
		if end-(i+4) < 20 {
			return 0, "", false
		}
		return end, s[i:i+4] + Mask, true
	})
	return replaceAll(s, "github_pat_", func(s string, i int) (int, string, bool) {
		start := i + len("github_pat_")
		end := run(s, start, func(c byte) bool { return isAlnum(c) || c == '_' })
		if end-start < 20 {
			return 0, "", false
		}
		return end, "github_pat_" + Mask, true
	})
}

// redactAWSKeyIDs masks AWS access key ids: prefix and 16 upper-case
// letters or digits.
func redactAWSKeyIDs(s, prefix string) string {
	return replaceAll(s, prefix, func(s string, i int) (int, string, bool) {
		start := i + len(prefix)
		if start+16 > len(s) || run(s[:start+16], start, isUpperAlnum) != start+16 {
			return 0, "", false
		}
		return start + 16, prefix + Mask, true
	})
}

// redactAssignments masks the value assigned to key, which is matched in
// any letter case: key, an optional closing quote, ':' or '=' with spaces
// around it, an optional opening quote, and at least 8 base64 characters.
func redactAssignments(s, key string) string {
	lower := asciiLower(s) // same byte offsets as s
	return replaceFound(s, lower, key, func(i int) (int, int, string, bool) {
		i = run(s, i+len(key), func(c byte) bool { return c == '"' || c == '\'' })
		i = run(s, i, func(c byte) bool { return c == ' ' || c == '\t' })
		if i >= len(s) || (s[i] != '=' && s[i] != ':') {
			return 0, 0, "", false
		}
		i = run(s, i+1, func(c byte) bool { return c == ' ' || c == '\t' })
		i = run(s, i, func(c byte) bool { return c == '"' || c == '\'' })
		end := run(s, i, isBase64)
		if end-i < 8 {
			return 0, 0, "", false
		}
		return i, end, Mask, true
	})
}

// asciiLower lower-cases ASCII letters only, so offsets stay the same.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// redactPEM replaces every PEM private key block, from its BEGIN line to
// its END line, by a fixed text. A block without an END line is masked to
// the end of s.
func redactPEM(s string) string {
	const begin, end, tail = "-----BEGIN ", "-----END ", "PRIVATE KEY-----"
	const maxType = 64 // "-----BEGIN " TYPE "PRIVATE KEY-----" on one line
	return replaceAll(s, begin, func(s string, i int) (int, string, bool) {
		rest := s[i+len(begin):]
		header := rest[:min(len(rest), maxType+len(tail))]
		if nl := strings.IndexByte(header, '\n'); nl >= 0 {
			header = header[:nl]
		}
		k := strings.Index(header, tail)
		if k < 0 {
			return 0, "", false
		}
		body := i + len(begin) + k + len(tail)
		j := strings.Index(s[body:], end)
		if j < 0 {
			return len(s), redactedKey, true
		}
		stop := body + j + len(end)
		after := s[stop:min(len(s), stop+maxType+len(tail))]
		if k := strings.Index(after, tail); k >= 0 {
			stop += k + len(tail)
		}
		return stop, redactedKey, true
	})
}
