package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/treetest"
)

// yamlText turns a tab-indented raw string into YAML: tests indent with
// tabs for readability and YAML forbids them.
func yamlText(s string) []byte {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, "\t", "  ")
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestParseRepo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Repo
	}{
		{
			name: "minimal",
			in:   "version: 1\n",
			want: &Repo{Version: 1, Automerge: true},
		},
		{
			name: "full",
			in: `
# planbot configuration
version: 1
automerge: false
merge_method: squash
apply_requirements: [mergeable, undiverged]
terraform_version: ">= 1.5, < 2.0"
engine: tofu
projects:
	- name: dev
		dir: envs/dev
		workspace: default
		kind: terraform
		engine: terraform
		autoplan:
			when_modified: ["*.tf", "../../modules/**/*.tf"]
	- dir: ./apps/web/overlays/prod/
		kind: kustomize
	- name: dev-blue
		dir: envs/dev
		workspace: blue
`,
			want: &Repo{
				Version:           1,
				Automerge:         false,
				MergeMethod:       "squash",
				ApplyRequirements: []string{"mergeable", "undiverged"},
				TerraformVersion:  ">= 1.5, < 2.0",
				Engine:            planbot.EngineOpenTofu,
				Projects: []RepoProject{
					{
						Name: "dev", Dir: "envs/dev", Workspace: "default", Kind: planbot.KindTerraform, Engine: planbot.EngineTerraform,
						Autoplan: Autoplan{WhenModified: []string{"*.tf", "../../modules/**/*.tf"}},
						Line:     9,
					},
					{Name: "apps/web/overlays/prod", Dir: "apps/web/overlays/prod", Workspace: "default", Kind: planbot.KindKustomize, Line: 16},
					{Name: "dev-blue", Dir: "envs/dev", Workspace: "blue", Line: 18},
				},
			},
		},
		{
			name: "alias",
			in: `
version: 1
projects:
	- dir: a
		autoplan: &ap
			when_modified: ["**/*.tf", "!**/test/**"]
	- dir: b
		autoplan: *ap
`,
			want: &Repo{Version: 1, Automerge: true, Projects: []RepoProject{
				{Name: "a", Dir: "a", Workspace: "default", Autoplan: Autoplan{WhenModified: []string{"**/*.tf", "!**/test/**"}}, Line: 3},
				{Name: "b", Dir: "b", Workspace: "default", Autoplan: Autoplan{WhenModified: []string{"**/*.tf", "!**/test/**"}}, Line: 6},
			}},
		},
		{
			name: "root project",
			in:   "version: 1\nprojects:\n  - dir: .\n",
			want: &Repo{Version: 1, Automerge: true, Projects: []RepoProject{{Name: ".", Dir: ".", Workspace: "default", Line: 3}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRepo(yamlText(tt.in))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("ParseRepo succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRepo: %v", err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("ParseRepo (-got +want):\n%s", diff)
			}
		})
	}
}

func TestParseRepoErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "empty file",
			in:   "",
			want: []string{".planbot.yaml:1: version: is required"},
		},
		{
			name: "comments only",
			in:   "# nothing yet\n",
			want: []string{".planbot.yaml:1: version: is required"},
		},
		{
			name: "missing version",
			in:   "automerge: true\n",
			want: []string{".planbot.yaml:1: version: is required"},
		},
		{
			name: "version 2",
			in:   "# hello\nversion: 2\n",
			want: []string{".planbot.yaml:2: version: must be 1, not 2"},
		},
		{
			name: "version as string",
			in:   "version: \"1\"\n",
			want: []string{".planbot.yaml:1: version: must be an integer"},
		},
		{
			name: "not a mapping",
			in:   "- version: 1\n",
			want: []string{".planbot.yaml:1: top level: must be a mapping"},
		},
		{
			name: "syntax error",
			in:   "version: 1\nautomerge: true: false\n",
			want: []string{".planbot.yaml:2: invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name: "indented key",
			in:   "version: 1\n  automerge: true\n",
			want: []string{".planbot.yaml:2: invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name: "two documents",
			in:   "version: 1\n---\nversion: 1\n",
			want: []string{".planbot.yaml:2: the file must hold a single YAML document"},
		},
		{
			name: "unknown keys everywhere",
			in: `
version: 1
automerg: true
projects:
	- dir: a
		workspcae: x
		autoplan:
			when_modifed: ["*.tf"]
`,
			want: []string{
				".planbot.yaml:2: automerg: unknown key (want one of version, automerge, merge_method, apply_requirements, terraform_version, engine, drift, projects, release)",
				".planbot.yaml:5: projects[0].workspcae: unknown key (want one of name, dir, workspace, kind, engine, autoplan, drift)",
				".planbot.yaml:7: projects[0].autoplan.when_modifed: unknown key (want one of when_modified)",
			},
		},
		{
			name: "anchors need a known key",
			in:   "version: 1\nx-globs: &globs [\"*.tf\"]\n",
			want: []string{".planbot.yaml:2: x-globs: unknown key (want one of version, automerge, merge_method, apply_requirements, terraform_version, engine, drift, projects, release)"},
		},
		{
			name: "duplicate key",
			in:   "version: 1\nautomerge: true\nautomerge: false\n",
			want: []string{".planbot.yaml:3: automerge: duplicate key"},
		},
		{
			name: "wrong types",
			in: `
version: 1
automerge: "yes"
merge_method: [squash]
apply_requirements: mergeable
projects:
	dir: a
`,
			want: []string{
				".planbot.yaml:2: automerge: must be true or false",
				".planbot.yaml:3: merge_method: must be a string",
				".planbot.yaml:4: apply_requirements: must be a list",
				".planbot.yaml:6: projects: must be a list",
			},
		},
		{
			name: "yes is not a boolean",
			in:   "version: 1\nautomerge: yes\n",
			want: []string{".planbot.yaml:2: automerge: must be true or false"},
		},
		{
			name: "null value",
			in:   "version: 1\nmerge_method:\n",
			want: []string{".planbot.yaml:2: merge_method: must not be empty"},
		},
		{
			name: "bad values",
			in: `
version: 1
merge_method: fast-forward
apply_requirements: [approved, mergeable, diverged, mergeable]
terraform_version: ">= banana"
`,
			want: []string{
				`.planbot.yaml:2: merge_method: must be merge, squash or rebase, not "fast-forward"`,
				`.planbot.yaml:3: apply_requirements[0]: approved is not an option: CODEOWNERS approval is always required`,
				`.planbot.yaml:3: apply_requirements[2]: must be mergeable or undiverged, not "diverged"`,
				`.planbot.yaml:3: apply_requirements[3]: mergeable is listed twice`,
				`.planbot.yaml:4: terraform_version: invalid version constraint ">= banana"`,
			},
		},
		{
			name: "empty merge method",
			in:   "version: 1\nmerge_method: \"\"\n",
			want: []string{".planbot.yaml:2: merge_method: must be merge, squash or rebase"},
		},
		{
			name: "empty projects",
			in:   "version: 1\nprojects: []\n",
			want: []string{".planbot.yaml:2: projects: must list at least one project (remove the key to autodetect projects)"},
		},
		{
			name: "bad dirs",
			in: `
version: 1
projects:
	- dir: envs/dev
	- dir: ../outside
	- dir: /etc
	- dir: -rf
	- dir: envs/a b
	- dir: envs//dev
	- dir: envs/../../x
	- name: nodir
`,
			want: []string{
				`.planbot.yaml:4: projects[1].dir: must be a relative path without ".."`,
				`.planbot.yaml:5: projects[2].dir: must be a relative path without ".."`,
				`.planbot.yaml:6: projects[3].dir: must not start with "-"`,
				`.planbot.yaml:7: projects[4].dir: "envs/a b" must use only A-Z a-z 0-9 . _ / -`,
				`.planbot.yaml:8: projects[5].dir: must not contain empty path segments`,
				`.planbot.yaml:9: projects[6].dir: must be a relative path without ".."`,
				`.planbot.yaml:10: projects[7].dir: is required`,
			},
		},
		{
			name: "bad names, workspaces and kinds",
			in: `
version: 1
projects:
	- dir: a
		name: "my project"
	- dir: b
		name: -p
	- dir: c
		workspace: a/b
	- dir: d
		kind: helm
	- dir: e
		engine: opentofu
	- dir: f
		kind: kustomize
		engine: tofu
`,
			want: []string{
				`.planbot.yaml:4: projects[0].name: "my project" must use only A-Z a-z 0-9 . _ / - and not start with -`,
				`.planbot.yaml:6: projects[1].name: "-p" must use only A-Z a-z 0-9 . _ / - and not start with -`,
				`.planbot.yaml:8: projects[2].workspace: "a/b" must use only A-Z a-z 0-9 . _ - and start with a letter, digit or _`,
				`.planbot.yaml:10: projects[3].kind: must be terraform or kustomize, not "helm"`,
				`.planbot.yaml:12: projects[4].engine: must be terraform or tofu (OpenTofu), not "opentofu"`,
				`.planbot.yaml:15: projects[5].engine: applies to Terraform projects only, and this one is kind kustomize`,
			},
		},
		{
			name: "duplicates",
			in: `
version: 1
projects:
	- name: dev
		dir: envs/dev
	- name: dev
		dir: envs/dev2
	- dir: envs/dev
	- dir: envs/dev/
		name: other
	- dir: envs/dev
		workspace: blue
`,
			want: []string{
				`.planbot.yaml:5: projects[1].name: "dev" is already the name of projects[0] (set a distinct name)`,
				`.planbot.yaml:7: projects[2]: dir "envs/dev" and workspace "default" are already used by projects[0]`,
				`.planbot.yaml:8: projects[3]: dir "envs/dev" and workspace "default" are already used by projects[0]`,
				`.planbot.yaml:10: projects[4].name: "envs/dev" is already the name of projects[2] (set a distinct name)`,
			},
		},
		{
			name: "errors on one line read left to right",
			in:   "version: 1\nprojects:\n\t- {dir: [a], name: [b], kind: 3}\n",
			want: []string{
				".planbot.yaml:3: projects[0].dir: must be a string",
				".planbot.yaml:3: projects[0].name: must be a string",
				".planbot.yaml:3: projects[0].kind: must be a string",
			},
		},
		{
			name: "numbers are not strings and 1.5 is not an integer",
			in:   "version: 1.5\nterraform_version: 1\nprojects:\n\t- dir: 2024\n",
			want: []string{
				".planbot.yaml:1: version: must be an integer",
				".planbot.yaml:2: terraform_version: must be a string",
				".planbot.yaml:4: projects[0].dir: must be a string",
			},
		},
		{
			name: "keys must be strings",
			in:   "version: 1\n1: x\nprojects:\n\t- <<: {dir: a}\n",
			want: []string{
				".planbot.yaml:2: top level: keys must be strings",
				".planbot.yaml:4: projects[0]: keys must be strings",
			},
		},
		{
			name: "alias loop",
			in:   "version: 1\nprojects: &x\n\t- dir: a\n\t\tautoplan: {when_modified: *x}\n",
			want: []string{".planbot.yaml: invalid YAML: document contains excessive aliasing"},
		},
		{
			name: "bad globs",
			in: `
version: 1
projects:
	- dir: envs/dev
		autoplan:
			when_modified:
				- "[.tf"
				- /abs/*.tf
				- "**/../x"
				- ../../../x
				- ""
				- "!!x"
				- "../../modules/**"
	- dir: b
		autoplan:
			when_modified: []
`,
			want: []string{
				`.planbot.yaml:6: projects[0].autoplan.when_modified[0]: "[.tf": invalid glob syntax`,
				`.planbot.yaml:7: projects[0].autoplan.when_modified[1]: "/abs/*.tf": must be relative to the project dir`,
				`.planbot.yaml:8: projects[0].autoplan.when_modified[2]: "**/../x": ".." may only lead the glob`,
				`.planbot.yaml:9: projects[0].autoplan.when_modified[3]: "../../../x": leaves the repository`,
				`.planbot.yaml:10: projects[0].autoplan.when_modified[4]: "": must not be empty`,
				`.planbot.yaml:11: projects[0].autoplan.when_modified[5]: "!!x": only one leading "!" is allowed`,
				`.planbot.yaml:15: projects[1].autoplan.when_modified: must list at least one glob`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRepo(yamlText(tt.in))
			if err == nil {
				t.Fatalf("ParseRepo = %+v, want errors", got)
			}
			var list RepoErrors
			if !errors.As(err, &list) {
				t.Fatalf("ParseRepo error %T is not RepoErrors: %v", err, err)
			}
			if diff := cmp.Diff(strings.Split(err.Error(), "\n"), tt.want); diff != "" {
				t.Errorf("ParseRepo errors (-got +want):\n%s", diff)
			}
			if code := planbot.ErrorCode(err); code != planbot.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, planbot.EINVALID)
			}
			if diff := cmp.Diff(planbot.ErrorMessage(err), err.Error()); diff != "" {
				t.Errorf("ErrorMessage (-got +want):\n%s", diff)
			}
		})
	}
}

func TestRepoErrorLine(t *testing.T) {
	_, err := ParseRepo(yamlText("version: 1\nprojects:\n\t- dir: a\n\t- dir: ../b\n"))
	var list RepoErrors
	if !errors.As(err, &list) {
		t.Fatalf("ParseRepo error %v is not RepoErrors", err)
	}
	want := RepoErrors{{Line: 4, Msg: `projects[1].dir: must be a relative path without ".."`}}
	if diff := cmp.Diff(list, want); diff != "" {
		t.Errorf("errors (-got +want):\n%s", diff)
	}
}

func TestDefaultRepo(t *testing.T) {
	r := DefaultRepo()
	want := &Repo{Version: 1, Automerge: true}
	if diff := cmp.Diff(r, want); diff != "" {
		t.Errorf("DefaultRepo (-got +want):\n%s", diff)
	}
	if r.Explicit() {
		t.Errorf("DefaultRepo().Explicit() = true, want false")
	}
	if got := r.Match([]string{"main.tf"}); got != nil {
		t.Errorf("DefaultRepo().Match = %v, want nil (autodetect)", got)
	}
	if err := r.CheckTerraformVersion("0.12.0"); err != nil {
		t.Errorf("DefaultRepo().CheckTerraformVersion: %v", err)
	}
}

func TestRequires(t *testing.T) {
	r, err := ParseRepo([]byte("version: 1\napply_requirements: [undiverged]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{r.Requires(RequireMergeable), r.Requires(RequireUndiverged)}
	if diff := cmp.Diff(got, []bool{false, true}); diff != "" {
		t.Errorf("Requires (-got +want):\n%s", diff)
	}
}

func TestMatch(t *testing.T) {
	const cfg = `
version: 1
projects:
	- name: dev
		dir: envs/dev
		kind: terraform
		autoplan:
			when_modified: ["*.tf", "../../modules/**/*.tf"]
	- name: prod
		dir: envs/prod
		kind: terraform
	- name: web
		dir: apps/web
		kind: kustomize
	- name: docs-excluded
		dir: infra
		kind: terraform
		autoplan:
			when_modified: ["**", "!**/*.md", "!docs/**"]
	- name: root
		dir: .
		kind: terraform
		autoplan:
			when_modified: ["*.tf"]
	- name: unresolved
		dir: mystery
`
	r, err := ParseRepo(yamlText(cfg))
	if err != nil {
		t.Fatal(err)
	}
	project := func(name, dir string, kind planbot.Kind) planbot.Project {
		return planbot.Project{Name: name, Dir: dir, Workspace: "default", Kind: kind}
	}
	dev := project("dev", "envs/dev", planbot.KindTerraform)
	prod := project("prod", "envs/prod", planbot.KindTerraform)
	web := project("web", "apps/web", planbot.KindKustomize)
	infra := project("docs-excluded", "infra", planbot.KindTerraform)
	root := project("root", ".", planbot.KindTerraform)
	mystery := project("unresolved", "mystery", "")

	tests := []struct {
		name    string
		changed []string
		want    []planbot.Project
	}{
		{name: "nothing", changed: nil, want: nil},
		{name: "own tf file", changed: []string{"envs/dev/main.tf"}, want: []planbot.Project{dev}},
		{name: "globs are anchored to the dir", changed: []string{"envs/dev/sub/main.tf"}, want: nil},
		{name: "custom globs drop the defaults", changed: []string{"envs/dev/dev.tfvars"}, want: nil},
		{name: "shared module through ..", changed: []string{"modules/vpc/deep/main.tf"}, want: []planbot.Project{dev}},
		{name: "** matches zero segments", changed: []string{"modules/main.tf"}, want: []planbot.Project{dev}},
		{name: "terraform defaults", changed: []string{"envs/prod/a/b/vars.tfvars", "envs/prod/README.md"}, want: []planbot.Project{prod}},
		{name: "terraform defaults include the lock file", changed: []string{"envs/prod/.terraform.lock.hcl"}, want: []planbot.Project{prod}},
		{name: "terraform defaults skip other files", changed: []string{"envs/prod/README.md"}, want: nil},
		{name: "terraform defaults include OpenTofu files", changed: []string{"envs/prod/main.tofu", "envs/prod/x.tofu.json"}, want: []planbot.Project{prod}},
		{name: "kustomize default is everything", changed: []string{"apps/web/patches/deploy.yaml"}, want: []planbot.Project{web}},
		{name: "prefix of a dir is not the dir", changed: []string{"apps/webby/x.yaml", "envs/dev2/main.tf"}, want: nil},
		{name: "exclusion", changed: []string{"infra/README.md", "infra/docs/x.tf"}, want: nil},
		{name: "exclusion keeps other files", changed: []string{"infra/README.md", "infra/main.tf"}, want: []planbot.Project{infra}},
		{name: "root project", changed: []string{"main.tf"}, want: []planbot.Project{root}},
		{name: "root glob is not recursive", changed: []string{"x/main.tf"}, want: nil},
		{name: "unresolved kind matches anything in its dir", changed: []string{"mystery/notes.txt"}, want: []planbot.Project{mystery}},
		{name: "paths are cleaned", changed: []string{"./envs/dev/../prod/main.tf"}, want: []planbot.Project{prod}},
		{name: "paths outside the repo are ignored", changed: []string{"../envs/dev/main.tf", "/envs/dev/main.tf", ""}, want: nil},
		{
			name:    "file order and no duplicates",
			changed: []string{"apps/web/k.yaml", "modules/a.tf", "envs/dev/main.tf", "main.tf", "envs/prod/main.tf"},
			want:    []planbot.Project{dev, prod, web, root},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Match(tt.changed)
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Match(%q) (-got +want):\n%s", tt.changed, diff)
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name string
		glob string
		path string
		want bool
	}{
		{name: "literal", glob: "a/b.tf", path: "a/b.tf", want: true},
		{name: "star stays in segment", glob: "a/*.tf", path: "a/b/c.tf", want: false},
		{name: "double star", glob: "a/**/c.tf", path: "a/b/x/c.tf", want: true},
		{name: "double star zero", glob: "a/**/c.tf", path: "a/c.tf", want: true},
		{name: "trailing double star", glob: "a/**", path: "a/b/c", want: true},
		{name: "trailing double star needs a file", glob: "a/**", path: "a", want: true},
		{name: "leading double star", glob: "**/*.tf", path: "x.tf", want: true},
		{name: "repeated double star", glob: "**/**/x", path: "a/b/x", want: true},
		{name: "class", glob: "env[12]/*.tf", path: "env2/a.tf", want: true},
		{name: "class miss", glob: "env[12]/*.tf", path: "env3/a.tf", want: false},
		{name: "too short", glob: "a/b/c", path: "a/b", want: false},
		{name: "dot matches all", glob: ".", path: "a/b", want: true},
		{name: "alternatives", glob: "a/*.{tf,hcl}", path: "a/b.hcl", want: true},
		{name: "alternatives miss", glob: "a/*.{tf,hcl}", path: "a/b.json", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := globMatch(tt.glob, tt.path)
			if got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.glob, tt.path, got, tt.want)
			}
		})
	}
}

func TestCheckTerraformVersion(t *testing.T) {
	tests := []struct {
		name       string
		constraint string
		version    string
		wantCode   string
	}{
		{name: "no constraint", constraint: "", version: "0.11.0"},
		{name: "inside range", constraint: ">= 1.5, < 2.0", version: "1.11.4"},
		{name: "leading v", constraint: ">= 1.5, < 2.0", version: "v1.11.4"},
		{name: "too old", constraint: ">= 1.5, < 2.0", version: "1.4.7", wantCode: planbot.EINVALID},
		{name: "too new", constraint: ">= 1.5, < 2.0", version: "2.0.0", wantCode: planbot.EINVALID},
		{name: "pessimistic", constraint: "~> 1.11.0", version: "1.12.0", wantCode: planbot.EINVALID},
		{name: "garbage version", constraint: ">= 1.0", version: "banana", wantCode: planbot.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Repo{Version: 1, TerraformVersion: tt.constraint}
			err := r.CheckTerraformVersion(tt.version)
			if got := planbot.ErrorCode(err); got != tt.wantCode {
				t.Errorf("CheckTerraformVersion(%q) = %v (code %q), want code %q", tt.version, err, got, tt.wantCode)
			}
		})
	}
}

// TestCheckTerraformVersionBinary checks the constraint against the version
// the terraform binary on PATH reports.
func TestCheckTerraformVersionBinary(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("terraform is required on PATH: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "version", "-json")
	cmd.Env = []string{"HOME=" + t.TempDir(), "CHECKPOINT_DISABLE=1"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("terraform version: %v", err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode terraform version: %v", err)
	}
	ok := &Repo{Version: 1, TerraformVersion: ">= 1.0, < 100.0"}
	if err := ok.CheckTerraformVersion(v.Version); err != nil {
		t.Errorf("CheckTerraformVersion(%q): %v", v.Version, err)
	}
	tooNew := &Repo{Version: 1, TerraformVersion: "> " + v.Version}
	if err := tooNew.CheckTerraformVersion(v.Version); planbot.ErrorCode(err) != planbot.EINVALID {
		t.Errorf("CheckTerraformVersion(%q) with %q = %v, want an EINVALID error", v.Version, tooNew.TerraformVersion, err)
	}
}

func TestResolveKinds(t *testing.T) {
	head, base := t.TempDir(), t.TempDir()
	treetest.Write(t, head, map[string]string{
		"tf/main.tf":                         `terraform {}`,
		"tfjson/main.tf.json":                `{}`,
		"tofu/main.tofu":                     `terraform {}`,
		"kust/kustomization.yaml":            "resources: []\n",
		"both/main.tf":                       ``,
		"both/kustomization.yml":             "",
		"explicit/kustomization.yaml":        "",
		"empty/README.md":                    "",
		"subonly/sub/main.tf":                "",
		"upper/Kustomization":                "",
		"dirnamed/main.tf/kustomization.yml": "",
	})
	treetest.Write(t, base, map[string]string{
		"gone/main.tf":          "",
		"tf/kustomization.yaml": "",
	})
	cfg := `
version: 1
projects:
	- dir: tf
	- dir: tfjson
	- dir: kust
	- dir: both
	- dir: explicit
		kind: terraform
	- dir: gone
	- dir: upper
	- dir: dirnamed/main.tf
	- dir: tofu
`
	r, err := ParseRepo(yamlText(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ResolveKinds(os.DirFS(head), os.DirFS(base)); err != nil {
		t.Fatalf("ResolveKinds: %v", err)
	}
	var got []planbot.Kind
	for _, p := range r.Projects {
		got = append(got, p.Kind)
	}
	want := []planbot.Kind{"terraform", "terraform", "kustomize", "terraform", "terraform", "terraform", "kustomize", "kustomize", "terraform"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("kinds (-got +want):\n%s", diff)
	}

	bad, err := ParseRepo(yamlText("version: 1\nprojects:\n\t- dir: empty\n\t- dir: subonly\n\t- dir: nowhere\n\t- dir: tf\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = bad.ResolveKinds(os.DirFS(head))
	wantErr := []string{
		".planbot.yaml:3: projects[0].kind: empty holds no *.tf files and no kustomization; set kind",
		".planbot.yaml:4: projects[1].kind: subonly holds no *.tf files and no kustomization; set kind",
		".planbot.yaml:5: projects[2].kind: nowhere does not exist; set kind",
	}
	if err == nil {
		t.Fatalf("ResolveKinds succeeded, want errors")
	}
	if diff := cmp.Diff(strings.Split(err.Error(), "\n"), wantErr); diff != "" {
		t.Errorf("ResolveKinds errors (-got +want):\n%s", diff)
	}
	if planbot.ErrorCode(err) != planbot.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", planbot.ErrorCode(err), planbot.EINVALID)
	}
	if bad.Projects[3].Kind != planbot.KindTerraform {
		t.Errorf("the resolvable project got kind %q, want terraform", bad.Projects[3].Kind)
	}
}

// jsonSchema is docs/planbot-schema.json, compiled by a JSON Schema
// validator, with its raw JSON for reading its properties.
type jsonSchema struct {
	t      *testing.T
	root   map[string]any
	schema *jsonschema.Schema
}

func loadSchema(t *testing.T) *jsonSchema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "planbot-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("decode schema: %v", err)
	}
	root, _ := doc.(map[string]any)
	if got, want := root["$schema"], "https://json-schema.org/draft/2020-12/schema"; got != want {
		t.Fatalf("$schema = %v, want %v", got, want)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("planbot-schema.json", doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile("planbot-schema.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return &jsonSchema{t: t, root: root, schema: sch}
}

// def returns the schema at a local reference such as "#/$defs/project".
func (s *jsonSchema) def(ref string) map[string]any {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		s.t.Fatalf("unsupported $ref %q", ref)
	}
	defs, _ := s.root["$defs"].(map[string]any)
	d, ok := defs[name].(map[string]any)
	if !ok {
		s.t.Fatalf("$ref %q points nowhere", ref)
	}
	return d
}

// properties returns the property names the schema at ref ("#" for the
// root) allows, sorted.
func (s *jsonSchema) properties(ref string) []string {
	sch := s.root
	if ref != "#" {
		sch = s.def(ref)
	}
	props, _ := sch["properties"].(map[string]any)
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// check returns the schema violations of a YAML document, as the
// validator words them.
func (s *jsonSchema) check(doc []byte) ([]string, error) {
	var x any
	if err := yaml.Unmarshal(doc, &x); err != nil {
		return nil, err
	}
	// The validator takes JSON values: numbers as json.Number, not int.
	j, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	err = s.schema.Validate(inst)
	var verr *jsonschema.ValidationError
	if errors.As(err, &verr) {
		return strings.Split(verr.Error(), "\n"), nil
	}
	return nil, err
}

func TestSchemaKeys(t *testing.T) {
	s := loadSchema(t)
	tests := []struct {
		name string
		ref  string
		typ  reflect.Type
	}{
		{name: "top level", ref: "#", typ: reflect.TypeFor[Repo]()},
		{name: "project", ref: "#/$defs/project", typ: reflect.TypeFor[RepoProject]()},
		{name: "autoplan", ref: "#/$defs/autoplan", typ: reflect.TypeFor[Autoplan]()},
		{name: "release", ref: "#/$defs/release", typ: reflect.TypeFor[Release]()},
		{name: "release product", ref: "#/$defs/releaseProduct", typ: reflect.TypeFor[ReleaseProduct]()},
		{name: "release service", ref: "#/$defs/releaseService", typ: reflect.TypeFor[ReleaseService]()},
		{name: "release environment", ref: "#/$defs/releaseEnvironment", typ: reflect.TypeFor[ReleaseEnvironment]()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := yamlKeys(tt.typ)
			slices.Sort(keys)
			if diff := cmp.Diff(keys, s.properties(tt.ref)); diff != "" {
				t.Errorf("keys of %s (-got +want), got from the Go struct tags, want from the schema:\n%s", tt.typ, diff)
			}
		})
	}
}

// TestSchemaAgrees checks that the schema and ParseRepo classify example
// files the same way. Where they may not, the rule is one a schema cannot
// express, and the case says so with schemaOK true and parseOK false.
func TestSchemaAgrees(t *testing.T) {
	s := loadSchema(t)
	tests := []struct {
		name     string
		in       string
		schemaOK bool
		parseOK  bool
	}{
		{name: "minimal", in: "version: 1", schemaOK: true, parseOK: true},
		{name: "every key", in: `
version: 1
automerge: false
merge_method: rebase
apply_requirements: [mergeable, undiverged]
terraform_version: "~> 1.11.0"
engine: terraform
projects:
	- name: dev
		dir: envs/dev
		workspace: blue
		kind: terraform
		engine: tofu
		autoplan:
			when_modified: ["*.tf", "../../modules/**", "!**/*.md"]
	- dir: .
	- dir: ./apps/web/
		kind: kustomize`, schemaOK: true, parseOK: true},
		{name: "dotted dirs", in: "version: 1\nprojects:\n\t- dir: .config/...x/.-a\n\t- dir: ..x", schemaOK: true, parseOK: true},
		{name: "empty document", in: "", schemaOK: false, parseOK: false},
		{name: "missing version", in: "automerge: true", schemaOK: false, parseOK: false},
		{name: "version 2", in: "version: 2", schemaOK: false, parseOK: false},
		{name: "version string", in: `version: "1"`, schemaOK: false, parseOK: false},
		{name: "unknown top-level key", in: "version: 1\nworkflows: {}", schemaOK: false, parseOK: false},
		{name: "unknown project key", in: "version: 1\nprojects:\n\t- dir: a\n\t\tworkflow: x", schemaOK: false, parseOK: false},
		{name: "unknown autoplan key", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\tenabled: false", schemaOK: false, parseOK: false},
		{name: "automerge yes", in: "version: 1\nautomerge: yes", schemaOK: false, parseOK: false},
		{name: "null merge method", in: "version: 1\nmerge_method:", schemaOK: false, parseOK: false},
		{name: "bad merge method", in: "version: 1\nmerge_method: ff", schemaOK: false, parseOK: false},
		{name: "approved requirement", in: "version: 1\napply_requirements: [approved]", schemaOK: false, parseOK: false},
		{name: "duplicate requirement", in: "version: 1\napply_requirements: [mergeable, mergeable]", schemaOK: false, parseOK: false},
		{name: "empty terraform version", in: "version: 1\nterraform_version: \"\"", schemaOK: false, parseOK: false},
		{name: "empty projects", in: "version: 1\nprojects: []", schemaOK: false, parseOK: false},
		{name: "project without dir", in: "version: 1\nprojects:\n\t- name: a", schemaOK: false, parseOK: false},
		{name: "absolute dir", in: "version: 1\nprojects:\n\t- dir: /a", schemaOK: false, parseOK: false},
		{name: "dotdot dir", in: "version: 1\nprojects:\n\t- dir: a/../b", schemaOK: false, parseOK: false},
		{name: "leading dotdot dir", in: "version: 1\nprojects:\n\t- dir: ../b", schemaOK: false, parseOK: false},
		{name: "dash dir", in: "version: 1\nprojects:\n\t- dir: -a", schemaOK: false, parseOK: false},
		{name: "space in dir", in: "version: 1\nprojects:\n\t- dir: a b", schemaOK: false, parseOK: false},
		{name: "empty segment dir", in: "version: 1\nprojects:\n\t- dir: a//b", schemaOK: false, parseOK: false},
		{name: "numeric dir", in: "version: 1\nprojects:\n\t- dir: 2024", schemaOK: false, parseOK: false},
		{name: "dash name", in: "version: 1\nprojects:\n\t- dir: a\n\t\tname: -a", schemaOK: false, parseOK: false},
		{name: "colon in name", in: "version: 1\nprojects:\n\t- dir: a\n\t\tname: 'a:b'", schemaOK: false, parseOK: false},
		{name: "slash in workspace", in: "version: 1\nprojects:\n\t- dir: a\n\t\tworkspace: a/b", schemaOK: false, parseOK: false},
		{name: "unknown kind", in: "version: 1\nprojects:\n\t- dir: a\n\t\tkind: helm", schemaOK: false, parseOK: false},
		{name: "unknown engine", in: "version: 1\nengine: opentofu", schemaOK: false, parseOK: false},
		{name: "unknown project engine", in: "version: 1\nprojects:\n\t- dir: a\n\t\tengine: pulumi", schemaOK: false, parseOK: false},
		{name: "empty engine", in: "version: 1\nengine: \"\"", schemaOK: false, parseOK: false},
		{name: "empty globs", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: []", schemaOK: false, parseOK: false},
		{name: "absolute glob", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: [/x]", schemaOK: false, parseOK: false},
		{name: "double negation", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: ['!!x']", schemaOK: false, parseOK: false},
		{name: "lone negation", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: ['!']", schemaOK: false, parseOK: false},
		{name: "release", in: shopRelease, schemaOK: true, parseOK: true},
		{name: "release without products", in: "version: 1\nrelease:\n\tenvironments: [{name: a, overlays: [a]}]", schemaOK: false, parseOK: false},
		{name: "release bad image", in: "version: 1\nrelease:\n\tproducts: [{name: p, services: [{name: s, image: 'A:1'}]}]\n\tenvironments: [{name: a, overlays: [a]}]", schemaOK: false, parseOK: false},
		{name: "release unknown env key", in: "version: 1\nrelease:\n\tproducts: [{name: p, services: [{name: s, image: a/b}]}]\n\tenvironments: [{name: a, overlays: [a], automerge: true}]", schemaOK: false, parseOK: false},
		{name: "release dotdot overlay", in: "version: 1\nrelease:\n\tproducts: [{name: p, services: [{name: s, image: a/b}]}]\n\tenvironments: [{name: a, overlays: [../a]}]", schemaOK: false, parseOK: false},
		{name: "release elsewhere", in: "version: 1\nrelease:\n\tmanifests_repo: acme/k8s", schemaOK: true, parseOK: true},
		{name: "release elsewhere and here", in: "version: 1\nrelease:\n\tmanifests_repo: acme/k8s\n\tproducts: [{name: p, services: [{name: s, image: a/b}]}]\n\tenvironments: [{name: a, overlays: [a]}]", schemaOK: false, parseOK: false},
		// Rules only ParseRepo checks.
		{name: "release elsewhere with a pattern", in: "version: 1\nrelease:\n\tmanifests_repo: acme/k8s\n\ttag_pattern: '<product>/<env>'", schemaOK: true, parseOK: false},
		{name: "release bad pattern", in: "version: 1\nrelease:\n\ttag_pattern: '<env>'\n\tproducts: [{name: p, services: [{name: s, image: a/b}]}]\n\tenvironments: [{name: a, overlays: [a]}]", schemaOK: true, parseOK: false},
		{name: "release unknown promotion", in: "version: 1\nrelease:\n\tproducts: [{name: p, services: [{name: s, image: a/b}]}]\n\tenvironments: [{name: a, overlays: [a], promote_to: b}]", schemaOK: true, parseOK: false},
		{name: "invalid constraint", in: "version: 1\nterraform_version: banana", schemaOK: true, parseOK: false},
		{name: "duplicate names", in: "version: 1\nprojects:\n\t- {dir: a, name: x}\n\t- {dir: b, name: x}", schemaOK: true, parseOK: false},
		{name: "duplicate dir and workspace", in: "version: 1\nprojects:\n\t- {dir: a, name: x}\n\t- {dir: a/, name: y}", schemaOK: true, parseOK: false},
		{name: "bad glob syntax", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: ['[x']", schemaOK: true, parseOK: false},
		{name: "glob leaves the repository", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: [../../x]", schemaOK: true, parseOK: false},
		{name: "engine of a kustomize project", in: "version: 1\nprojects:\n\t- dir: a\n\t\tkind: kustomize\n\t\tengine: tofu", schemaOK: true, parseOK: false},
		{name: "dotdot inside glob", in: "version: 1\nprojects:\n\t- dir: a\n\t\tautoplan:\n\t\t\twhen_modified: ['**/../x']", schemaOK: true, parseOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := yamlText(tt.in)
			violations, err := s.check(doc)
			if err != nil {
				t.Fatalf("decode example: %v", err)
			}
			if got := len(violations) == 0; got != tt.schemaOK {
				t.Errorf("schema accepts = %v, want %v; violations: %q", got, tt.schemaOK, violations)
			}
			_, err = ParseRepo(doc)
			if got := err == nil; got != tt.parseOK {
				t.Errorf("ParseRepo accepts = %v, want %v; error: %v", got, tt.parseOK, err)
			}
		})
	}
}

// TestDocExamples checks that every YAML example in docs/repo-config.md is
// a valid file for both ParseRepo and the schema.
func TestDocExamples(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "repo-config.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := loadSchema(t)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d yaml examples in repo-config.md, want at least 3", len(blocks))
	}
	for i, b := range blocks {
		if _, err := ParseRepo(b[1]); err != nil {
			t.Errorf("example %d: ParseRepo: %v\n%s", i, err, b[1])
		}
		violations, err := s.check(b[1])
		if err != nil || len(violations) > 0 {
			t.Errorf("example %d: schema: %v %q\n%s", i, err, violations, b[1])
		}
	}
}

func TestParseRepoTooLarge(t *testing.T) {
	data := []byte("version: 1\n" + strings.Repeat("# padding\n", maxRepoFileSize/10))
	_, err := ParseRepo(data)
	want := ".planbot.yaml: the file is larger than 262144 bytes"
	if err == nil || err.Error() != want {
		t.Errorf("ParseRepo = %v, want %q", err, want)
	}
}

func TestSetEngines(t *testing.T) {
	const cfg = `
version: 1
engine: tofu
projects:
	- name: tf
		dir: tf
		kind: terraform
		engine: terraform
	- name: tofu
		dir: tofu
		kind: terraform
	- name: web
		dir: web
		kind: kustomize
`
	r, err := ParseRepo(yamlText(cfg))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Match([]string{"tf/main.tf", "tofu/main.tf", "web/k.yaml"})
	r.SetEngines(got)
	detected := []planbot.Project{
		{Name: "tf", Dir: "tf", Kind: planbot.KindTerraform},
		{Name: "other", Dir: "other", Kind: planbot.KindTerraform},
		{Name: "pinned", Dir: "pinned", Kind: planbot.KindTerraform, Engine: planbot.EngineTerraform},
		{Name: "web", Dir: "web", Kind: planbot.KindKustomize},
	}
	r.SetEngines(detected)
	got = append(got, detected...)
	want := []planbot.Project{
		{Name: "tf", Dir: "tf", Workspace: "default", Kind: planbot.KindTerraform, Engine: planbot.EngineTerraform},
		{Name: "tofu", Dir: "tofu", Workspace: "default", Kind: planbot.KindTerraform, Engine: planbot.EngineOpenTofu},
		{Name: "web", Dir: "web", Workspace: "default", Kind: planbot.KindKustomize},
		// Autodetected projects take a declared project's engine by
		// name, else the repository's.
		{Name: "tf", Dir: "tf", Kind: planbot.KindTerraform, Engine: planbot.EngineTerraform},
		{Name: "other", Dir: "other", Kind: planbot.KindTerraform, Engine: planbot.EngineOpenTofu},
		{Name: "pinned", Dir: "pinned", Kind: planbot.KindTerraform, Engine: planbot.EngineTerraform},
		{Name: "web", Dir: "web", Kind: planbot.KindKustomize},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("engines (-got +want):\n%s", diff)
	}
}
