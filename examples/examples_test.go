package examples

import (
	"io/fs"
	"strings"
	"testing"
)

// TestChange checks that the scripted change edits the shared module and
// the Kustomize base, keeping what it does not change.
func TestChange(t *testing.T) {
	change, err := Change()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"modules/app/main.tf":      {`resource "terraform_data" "dns"`, `resource "terraform_data" "app"`, `output "id" {`},
		"k8s/base/deployment.yaml": {"  replicas: 3\n", "image: nginx:1.27"},
	}
	if len(change) != len(want) {
		t.Errorf("the change edits %d files, want %d", len(change), len(want))
	}
	for file, subs := range want {
		before, err := fs.ReadFile(Infra, "infra/"+file)
		if err != nil {
			t.Fatal(err)
		}
		after := change[file]
		if after == string(before) {
			t.Errorf("%s is not changed", file)
		}
		for _, s := range subs {
			if !strings.Contains(after, s) {
				t.Errorf("changed %s lacks %q:\n%s", file, s, after)
			}
		}
	}
}
