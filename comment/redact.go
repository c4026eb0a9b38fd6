package comment

import (
	"regexp"
	"slices"
	"strings"
)

// MinSecretLen is the length in bytes under which a secret value passed to
// Redact is ignored: masking very short values would mask ordinary words.
const MinSecretLen = 6

// Mask replaces a redacted value.
const Mask = "***"

// redactedKey replaces a whole PEM private key block.
const redactedKey = "[REDACTED PRIVATE KEY]"

var (
	// ghToken matches GitHub tokens: classic prefixes followed by the
	// base62 body, and fine-grained personal access tokens.
	ghToken = regexp.MustCompile(`gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255}`)
	// awsKeyID matches AWS access key ids (long-term and temporary).
	awsKeyID = regexp.MustCompile(`A(?:KIA|SIA)[A-Z0-9]{16}`)
	// awsSecret matches the value of an AWS secret key or session token
	// assignment in HCL, INI, YAML, JSON or shell syntax.
	awsSecret = regexp.MustCompile(`(?i)(aws_secret_access_key|aws_session_token|secret_access_key|secretaccesskey)(["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{8,})`)
)

// Redact returns s with every occurrence of the given secret values masked
// (values shorter than MinSecretLen are skipped) and with strings that
// look like credentials masked: GitHub tokens (ghp_, gho_, ghu_, ghs_,
// ghr_, github_pat_), PEM private key blocks, AWS access key ids and the
// values of aws_secret_access_key and aws_session_token assignments.
// Terraform's "(sensitive value)" is left alone. Redact never makes s
// longer, and its cost is linear in the length of s.
func Redact(s string, secrets []string) string {
	s = redactValues(s, secrets)
	s = redactPEM(s)
	if strings.Contains(s, "gh") || strings.Contains(s, "github_pat_") {
		s = ghToken.ReplaceAllStringFunc(s, func(tok string) string {
			prefix, _, _ := strings.Cut(tok, "_")
			if prefix == "github" {
				prefix = "github_pat"
			}
			return prefix + "_" + Mask
		})
	}
	if strings.Contains(s, "KIA") || strings.Contains(s, "SIA") {
		s = awsKeyID.ReplaceAllStringFunc(s, func(id string) string {
			return id[:4] + Mask
		})
	}
	if containsFold(s, "access_key") || containsFold(s, "session_token") || containsFold(s, "accesskey") {
		s = awsSecret.ReplaceAllString(s, "${1}${2}"+Mask)
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

// redactPEM replaces every PEM private key block, from its BEGIN line to
// its END line, by a fixed text. A block without an END line is masked to
// the end of s.
func redactPEM(s string) string {
	const begin, end, tail = "-----BEGIN ", "-----END ", "PRIVATE KEY-----"
	if !strings.Contains(s, begin) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, begin)
		if i < 0 {
			break
		}
		// The header is "-----BEGIN [TYPE ]PRIVATE KEY-----" on one line.
		rest := s[i+len(begin):]
		nl := strings.IndexByte(rest, '\n')
		header := rest
		if nl >= 0 {
			header = rest[:nl]
		}
		if len(header) > 64 || !strings.Contains(header, tail) {
			b.WriteString(s[:i+len(begin)])
			s = rest
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(redactedKey)
		j := strings.Index(rest, end)
		if j < 0 {
			s = ""
			break
		}
		after := rest[j+len(end):]
		if k := strings.Index(after, tail); k >= 0 && k <= 64 {
			after = after[k+len(tail):]
		}
		s = after
	}
	b.WriteString(s)
	return b.String()
}

// containsFold reports whether s contains the ASCII lower-case word sub in
// any letter case, without copying s.
func containsFold(s, sub string) bool {
	if len(sub) == 0 {
		return true
	}
	first := sub[0]
	upper := first - 'a' + 'A'
	for i := 0; i+len(sub) <= len(s); i++ {
		c := s[i]
		if c != first && c != upper {
			continue
		}
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
