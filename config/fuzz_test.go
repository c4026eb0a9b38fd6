package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParseRepo checks that ParseRepo never panics, that it either accepts
// a file or explains why not, and that an accepted file means the same
// when its configuration is written out again and parsed back.
func FuzzParseRepo(f *testing.F) {
	for _, seed := range []string{
		"",
		"version: 1\n",
		"version: 1\nautomerge: false\nmerge_method: squash\napply_requirements: [mergeable, undiverged]\nterraform_version: \">= 1.5, < 2.0\"\n",
		"version: 1\nprojects:\n  - name: dev\n    dir: envs/dev\n    workspace: blue\n    kind: terraform\n    autoplan:\n      when_modified: [\"*.tf\", \"../../modules/**/*.tf\", \"!**/*.md\"]\n",
		"version: 1\nprojects:\n  - dir: a\n    autoplan: &ap\n      when_modified: [\"**\"]\n  - dir: b\n    autoplan: *ap\n",
		"version: 1\nprojects:\n  - {dir: [a], name: [b], kind: 3}\n",
		"version: 1\nprojects: &x\n  - dir: a\n    autoplan: {when_modified: *x}\n",
		"version: 1\nautomerge: true\nautomerge: false\n",
		"- version: 1\n",
		string(yamlText(shopRelease)),
	} {
		f.Add([]byte(seed))
	}
	if docs, err := os.ReadFile(filepath.Join("..", "docs", "repo-config.md")); err == nil {
		for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(docs, -1) {
			f.Add(b[1])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRepo(data)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseRepo returned a config and an error: %v", err)
			}
			if _, ok := err.(RepoErrors); !ok || err.Error() == "" {
				t.Fatalf("ParseRepo error %T %q is not a non-empty RepoErrors", err, err)
			}
			return
		}
		if r.Version != 1 {
			t.Fatalf("ParseRepo accepted version %d", r.Version)
		}
		again, err := ParseRepo(writeRepo(r))
		if err != nil {
			t.Fatalf("ParseRepo of the written config: %v\n%s", err, writeRepo(r))
		}
		if diff := cmp.Diff(again, r, cmpopts.IgnoreFields(RepoProject{}, "Line")); diff != "" {
			t.Errorf("round trip (-got +want):\n%s", diff)
		}
	})
}

// writeRepo writes r as a RepoFile that sets every key r has a value for.
func writeRepo(r *Repo) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %d\nautomerge: %t\n", r.Version, r.Automerge)
	if r.MergeMethod != "" {
		fmt.Fprintf(&b, "merge_method: %q\n", r.MergeMethod)
	}
	if r.ApplyRequirements != nil {
		fmt.Fprintf(&b, "apply_requirements: %s\n", quoteList(r.ApplyRequirements))
	}
	if r.TerraformVersion != "" {
		fmt.Fprintf(&b, "terraform_version: %q\n", r.TerraformVersion)
	}
	if r.Engine != "" {
		fmt.Fprintf(&b, "engine: %q\n", r.Engine)
	}
	if len(r.Projects) > 0 {
		b.WriteString("projects:\n")
	}
	for _, p := range r.Projects {
		fmt.Fprintf(&b, "  - name: %q\n    dir: %q\n    workspace: %q\n", p.Name, p.Dir, p.Workspace)
		if p.Engine != "" {
			fmt.Fprintf(&b, "    engine: %q\n", p.Engine)
		}
		if p.Kind != "" {
			fmt.Fprintf(&b, "    kind: %q\n", p.Kind)
		}
		if p.Autoplan.WhenModified != nil {
			fmt.Fprintf(&b, "    autoplan:\n      when_modified: %s\n", quoteList(p.Autoplan.WhenModified))
		}
	}
	writeRelease(&b, r.Release)
	return []byte(b.String())
}

// writeRelease writes the release section of rel, if any.
func writeRelease(b *strings.Builder, rel Release) {
	if rel.ManifestsRepo != "" {
		fmt.Fprintf(b, "release:\n  manifests_repo: %q\n", rel.ManifestsRepo)
		return
	}
	if !(&Repo{Release: rel}).Releases() {
		return
	}
	b.WriteString("release:\n")
	if rel.TagPattern != "" {
		fmt.Fprintf(b, "  tag_pattern: %q\n", rel.TagPattern)
	}
	if rel.ImageTag != "" {
		fmt.Fprintf(b, "  image_tag: %q\n", rel.ImageTag)
	}
	if rel.AllowedRepos != nil {
		fmt.Fprintf(b, "  allowed_repos: %s\n", quoteList(rel.AllowedRepos))
	}
	b.WriteString("  products:\n")
	for _, p := range rel.Products {
		fmt.Fprintf(b, "    - name: %q\n      services:\n", p.Name)
		for _, s := range p.Services {
			fmt.Fprintf(b, "        - {name: %q, image: %q}\n", s.Name, s.Image)
		}
	}
	b.WriteString("  environments:\n")
	for _, e := range rel.Environments {
		fmt.Fprintf(b, "    - {name: %q, overlays: %s, auto_merge: %t", e.Name, quoteList(e.Overlays), e.AutoMerge)
		if e.PromoteTo != "" {
			fmt.Fprintf(b, ", promote_to: %q", e.PromoteTo)
		}
		b.WriteString("}\n")
	}
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
