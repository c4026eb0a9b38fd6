// Package examples embeds a small infrastructure repository: two Terraform
// roots (envs/dev, envs/prod) sharing a local module (modules/app), built
// only from terraform_data resources with local state, and a Kustomize base
// with staging and prod overlays. `planbot plan --example` plans a scripted
// change to it, so a newcomer sees a real plan comment without GitHub.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// Infra is the example repository, rooted at "infra".
//
//go:embed all:infra
var Infra embed.FS

// dnsRecord is the resource the scripted change adds to the shared module,
// before its output.
const dnsRecord = `resource "terraform_data" "dns" {
  input = "${var.name}.example.internal"
}

output "id" {`

// edits is the scripted change as edits of the example's files: each
// replaces the first old with new in its file.
var edits = []struct{ file, old, new string }{
	// The shared module gains a resource, so both roots plan.
	{"modules/app/main.tf", `output "id" {`, dnsRecord},
	// The Kustomize base scales its deployment, so both overlays diff.
	{"k8s/base/deployment.yaml", "  replicas: 2\n", "  replicas: 3\n"},
}

// Change returns the scripted change `planbot plan --example` commits on
// top of the example: the new content of each file it edits, by slash
// path in the repository.
func Change() (map[string]string, error) {
	change := map[string]string{}
	for _, e := range edits {
		b, err := fs.ReadFile(Infra, "infra/"+e.file)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(b), e.old) {
			return nil, fmt.Errorf("example %s lacks %q to change", e.file, e.old)
		}
		change[e.file] = strings.Replace(string(b), e.old, e.new, 1)
	}
	return change, nil
}
