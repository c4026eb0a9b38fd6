package project

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/planbot/planbot/treetest"
)

func TestSameState(t *testing.T) {
	s3 := func(key string) string {
		return "terraform {\n  backend \"s3\" {\n    bucket = \"acme-state\"\n    key    = \"" + key + "\"\n  }\n}\n"
	}
	base := t.TempDir()
	treetest.Write(t, base, map[string]string{
		"envs/old/main.tf":       s3("old.tfstate"),
		"envs/other/main.tf":     s3("other.tfstate"),
		"envs/local/main.tf":     "terraform {\n  backend \"local\" {}\n}\n",
		"envs/none/main.tf":      `resource "terraform_data" "a" {}`,
		"envs/json/main.tf.json": `{"terraform": {"backend": {"http": {"address": "http://127.0.0.1/state/j"}}}}`,
	})
	head := t.TempDir()
	treetest.Write(t, head, map[string]string{
		// envs/old moved, its arguments in another order and layout.
		"live/new/backend.tf": "terraform {\n  backend \"s3\" {\n    key = \"old.tfstate\"\n    bucket = \"acme-state\"\n  }\n}\n",
		"live/new/main.tf":    `resource "terraform_data" "a" {}`,
		"envs/local2/main.tf": "terraform {\n  backend \"local\" {}\n}\n",
		"envs/none2/main.tf":  `resource "terraform_data" "a" {}`,
		"envs/json2/main.tf":  "terraform {\n  backend \"http\" {\n    address = \"http://127.0.0.1/state/j\"\n  }\n}\n",
		"envs/diff/main.tf":   s3("other.tfstate"),
		// A module's backend block is ignored by terraform.
		"modules/m/main.tf": s3("old.tfstate"),
		"envs/uses/main.tf": "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
	})
	got, err := SameState(base, []string{"envs/old", "envs/local", "envs/none", "envs/json", "envs/missing"}, head)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"envs/old": {"live/new"}, "envs/json": {"envs/json2"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("SameState (-got +want):\n%s", diff)
	}
}
