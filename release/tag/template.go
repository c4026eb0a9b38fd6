package tag

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
)

// DefaultImageTag is the image tag template of a repository that sets
// none: the tagged commit's full SHA.
const DefaultImageTag = "{{.SHA}}"

// imageTagRE is the syntax of a container image tag.
var imageTagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidImageTag reports whether s is a valid container image tag.
func ValidImageTag(s string) bool { return imageTagRE.MatchString(s) }

// Values are what an image tag template may use.
type Values struct {
	// SHA is the tagged commit's full SHA and ShortSHA its first 7
	// characters.
	SHA, ShortSHA string
	// Tag is the release tag's name.
	Tag                    string
	Product, Env, Name     string
	Year, Month, Day, HHMM string
	// Date is Year-Month-Day, "" when the pattern has no date.
	Date string
	// Service is the service whose image is tagged.
	Service string
}

// NewValues returns the values of a release tag t for the service svc of
// the commit sha.
func NewValues(t Tag, sha, svc string) Values {
	v := Values{
		SHA: sha, ShortSHA: sha[:min(7, len(sha))], Tag: t.Raw,
		Product: t.Product, Env: t.Env, Name: t.Name,
		Year: t.Year, Month: t.Month, Day: t.Day, HHMM: t.HHMM, Service: svc,
	}
	if t.Year != "" {
		v.Date = t.Year + "-" + t.Month + "-" + t.Day
	}
	return v
}

// Template derives an image tag from a release tag and its commit.
type Template struct {
	src string
	t   *template.Template
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// sample are the values a template is tried with when it is compiled.
var sample = Values{
	SHA: "0123456789abcdef0123456789abcdef01234567", ShortSHA: "0123456", Tag: "shop/production/2026/12/02/1030-ana-api",
	Product: "shop", Env: "production", Name: "ana", Year: "2026", Month: "12", Day: "02", HHMM: "1030",
	Date: "2026-12-02", Service: "api",
}

// CompileTemplate compiles an image tag template, a Go text/template over
// Values such as "{{.ShortSHA}}" or "{{.Date}}-{{.ShortSHA}}". It fails
// when the template does not parse, names a field Values lacks, or makes
// an invalid image tag from sample values.
func CompileTemplate(src string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("image tag template is empty")
	}
	t, err := template.New("image_tag").Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("image tag template %q: %v", src, err)
	}
	for _, n := range t.Tree.Root.Nodes {
		// Text and {{...}} actions only: no range (over an integer it
		// could run for long), if, with or nested templates.
		if n.Type() != parse.NodeText && n.Type() != parse.NodeAction {
			return nil, fmt.Errorf("image tag template %q: only text and {{.Field}} actions are allowed", src)
		}
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("image tag template %q: only text and {{.Field}} actions are allowed", src)
	}
	tt := &Template{src: src, t: t}
	if _, err := tt.Execute(sample); err != nil {
		return nil, err
	}
	return tt, nil
}

// Execute returns the image tag for v. It fails when the result is not a
// valid image tag.
func (t *Template) Execute(v Values) (string, error) {
	var b strings.Builder
	if err := t.t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("image tag template %q: %v", t.src, err)
	}
	if !ValidImageTag(b.String()) {
		return "", fmt.Errorf("image tag template %q makes %q, which is not a valid image tag (A-Z a-z 0-9 _ . -, at most 128, not starting with . or -)", t.src, b.String())
	}
	return b.String(), nil
}
