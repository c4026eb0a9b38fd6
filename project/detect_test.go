package project

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/planbot/planbot"
	"github.com/planbot/planbot/treetest"
)

func projects(dirs ...string) []planbot.Project {
	var ps []planbot.Project
	for _, d := range dirs {
		ps = append(ps, planbot.Project{Name: d, Dir: d, Workspace: "default", Kind: planbot.KindTerraform})
	}
	return ps
}

// monorepo is envs/dev and envs/prod sharing modules/app, which uses
// modules/network, plus envs/dev's own module under ./modules/cache.
var monorepo = map[string]string{
	"README.md": "# infra\n",
	"envs/dev/main.tf": `module "app" {
  source = "../../modules/app"
}
module "cache" {
  source = "./modules/cache"
}
module "removed" {
  source = "../../modules/removed"
}
module "remote" {
  source = "terraform-aws-modules/vpc/aws"
}
`,
	"envs/dev/dev.tfvars":               "size = 1\n",
	"envs/dev/.terraform.lock.hcl":      "# lock\n",
	"envs/dev/templates/user_data.sh":   "#!/bin/sh\n",
	"envs/dev/modules/cache/main.tf":    `resource "terraform_data" "c" {}` + "\n",
	"envs/prod/main.tf":                 `module "app" { source = "../../modules/app" }` + "\n",
	"envs/prod/.terraform/modules/x.tf": `resource "terraform_data" "cached" {}` + "\n",
	"modules/app/main.tf":               `module "net" { source = "../network" }` + "\n",
	"modules/network/main.tf":           `resource "terraform_data" "n" {}` + "\n",
	"modules/network/README.md":         "network\n",
	"json/main.tf.json":                 `{"module": {"app": {"source": "../modules/json-only"}}}`,
	"modules/json-only/main.tf":         `resource "terraform_data" "j" {}` + "\n",
	"standalone/main.tf":                `resource "terraform_data" "s" {}` + "\n",
	"broken/main.tf":                    "module \"m\" {\n  source = \"../modules/network\"\n}\nresource {\n",
	"escape/main.tf":                    `module "out" { source = "../../outside" }` + "\n",
	"docs/guide.md":                     "guide\n",
	"onlyvars/x.tfvars":                 "a = 1\n",
	"tofu/main.tofu":                    `module "t" { source = "../modules/tofu-only" }` + "\n",
	"modules/tofu-only/main.tofu.json":  `{"resource": {"terraform_data": {"t": {}}}}`,
}

func TestDetectTerraform(t *testing.T) {
	root := t.TempDir()
	treetest.Write(t, root, monorepo)
	outside := t.TempDir()
	treetest.Write(t, outside, map[string]string{"evil/main.tf": `resource "terraform_data" "e" {}` + "\n"})
	if err := os.Symlink(filepath.Join(outside, "evil"), filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}

	tests := []detectCase{
		{
			name:    "shared module marks both envs",
			changed: []string{"modules/app/main.tf"},
			want:    Detection{Projects: projects("envs/dev", "envs/prod")},
		},
		{
			name:    "nested module marks roots transitively",
			changed: []string{"modules/network/variables.tf"},
			want:    Detection{Projects: projects("broken", "envs/dev", "envs/prod")},
		},
		{
			name:    "any file of a module counts",
			changed: []string{"modules/network/README.md"},
			want:    Detection{Projects: projects("broken", "envs/dev", "envs/prod")},
		},
		{
			name:    "root change",
			changed: []string{"envs/prod/main.tf"},
			want:    Detection{Projects: projects("envs/prod")},
		},
		{
			name:    "tfvars and lock file count",
			changed: []string{"envs/dev/dev.tfvars", "envs/dev/.terraform.lock.hcl"},
			want:    Detection{Projects: projects("envs/dev")},
		},
		{
			name:    "module inside the root dir",
			changed: []string{"envs/dev/modules/cache/main.tf"},
			want:    Detection{Projects: projects("envs/dev")},
		},
		{
			name:    "subdir that is not a module",
			changed: []string{"envs/dev/templates/user_data.sh"},
		},
		{
			name:    "tf.json root and its module",
			changed: []string{"modules/json-only/main.tf"},
			want:    Detection{Projects: projects("json")},
		},
		{
			name:    "tf.json file changed",
			changed: []string{"json/main.tf.json"},
			want:    Detection{Projects: projects("json")},
		},
		{
			name:    "OpenTofu's .tofu root and its .tofu.json module",
			changed: []string{"modules/tofu-only/main.tofu.json"},
			want:    Detection{Projects: projects("tofu")},
		},
		{
			name:    ".tofu file changed",
			changed: []string{"tofu/main.tofu"},
			want:    Detection{Projects: projects("tofu")},
		},
		{
			name:    "unrelated files",
			changed: []string{"README.md", "docs/guide.md", "docs/removed/old.md"},
		},
		{
			name:    "deleted dirs",
			changed: []string{"envs/staging/main.tf", "envs/staging/variables.tf", "onlyvars/main.tf", "envs/qa/terraform.tfvars"},
			want:    Detection{Deleted: []string{"envs/qa", "envs/staging", "onlyvars"}},
		},
		{
			name:    "deleted module marks its users",
			changed: []string{"modules/removed/main.tf"},
			want:    Detection{Projects: projects("envs/dev")},
		},
		{
			name:    "deleted dir nobody uses",
			changed: []string{"modules/cache/main.tf"},
			want:    Detection{Deleted: []string{"modules/cache"}},
		},
		{
			name:    "outside, symlinked and cached paths are ignored",
			changed: []string{"../x/main.tf", "/etc/main.tf", "linked/main.tf", "envs/prod/.terraform/modules/x.tf", ".git/config"},
		},
		{
			name:    "module source leaving the tree",
			changed: []string{"escape/main.tf"},
			want:    Detection{Projects: projects("escape")},
		},
		{
			name:    "standalone and mixed, deduplicated and sorted",
			changed: []string{"standalone/main.tf", "envs/prod/main.tf", "standalone/outputs.tf", "./envs/prod/x.tf", "gone/main.tf", "gone/main.tf"},
			want:    Detection{Projects: projects("envs/prod", "standalone"), Deleted: []string{"gone"}},
		},
		{
			name:    "nothing changed",
			changed: nil,
		},
	}
	checkDetect(t, root, tests)
}

func TestDetectTerraformRootDir(t *testing.T) {
	root := t.TempDir()
	treetest.Write(t, root, map[string]string{
		"main.tf":            `module "m" { source = "./modules/m" }` + "\n",
		"modules/m/main.tf":  `resource "terraform_data" "m" {}` + "\n",
		"modules/m/extra.tf": `module "self" { source = "./" }` + "\n",
	})
	tests := []detectCase{
		{name: "top-level root", changed: []string{"main.tf"}, want: Detection{Projects: projects(".")}},
		{name: "its module", changed: []string{"modules/m/main.tf"}, want: Detection{Projects: projects(".")}},
	}
	checkDetect(t, root, tests)
}

// detectCase is a change of a tree and the Detection it makes.
type detectCase struct {
	name    string
	changed []string
	want    Detection
}

// checkDetect runs DetectTerraform on root for each case.
func checkDetect(t *testing.T, root string, tests []detectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectTerraform(root, tt.changed)
			if err != nil {
				t.Fatalf("DetectTerraform: %v", err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("DetectTerraform (-got +want):\n%s", diff)
			}
		})
	}
}

func TestDetectTerraformMissingRoot(t *testing.T) {
	if _, err := DetectTerraform(filepath.Join(t.TempDir(), "nope"), []string{"main.tf"}); err == nil {
		t.Error("DetectTerraform of a missing tree succeeded")
	}
}

func TestInputs(t *testing.T) {
	root := t.TempDir()
	treetest.Write(t, root, map[string]string{
		"envs/dev/main.tf":      `module "app" { source = "../../modules/app" }`,
		"modules/app/main.tf":   `module "net" { source = "../net" }`,
		"modules/net/main.tf":   `resource "terraform_data" "n" {}`,
		"modules/other/main.tf": `resource "terraform_data" "o" {}`,
		"envs/prod/main.tf":     `module "o" { source = "../../modules/other" }`,
	})
	got, err := Inputs(root, "envs/dev")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []string{"envs/dev", "modules/app", "modules/net"}); diff != "" {
		t.Errorf("Inputs (-got +want):\n%s", diff)
	}
}

func TestDeletedRoots(t *testing.T) {
	base := t.TempDir()
	treetest.Write(t, base, monorepo)
	tests := []struct {
		name    string
		deleted []string
		want    []string
	}{
		{name: "none"},
		{name: "a root", deleted: []string{"standalone"}, want: []string{"standalone"}},
		{name: "roots sorted", deleted: []string{"standalone", "envs/prod"}, want: []string{"envs/prod", "standalone"}},
		{name: "a module is not a project", deleted: []string{"modules/network"}},
		{name: "a dir that held no configuration", deleted: []string{"onlyvars", "docs"}},
		{name: "under .terraform", deleted: []string{"envs/prod/.terraform/modules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DeletedRoots(base, tt.deleted)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("DeletedRoots(%q) (-got +want):\n%s", tt.deleted, diff)
			}
		})
	}
}
