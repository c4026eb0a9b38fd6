// Package examples embeds a small infrastructure repository: two Terraform
// roots (envs/dev, envs/prod) sharing a local module (modules/app), built
// only from terraform_data resources with local state, and a Kustomize base
// with staging and prod overlays. `planbot plan --example` plans a scripted
// change to it, so a newcomer sees a real plan comment without GitHub.
package examples

import "embed"

// Infra is the example repository, rooted at "infra".
//
//go:embed all:infra
var Infra embed.FS

// Change is the scripted change `planbot plan --example` commits on top of
// the example: it edits the shared module (so both roots plan) and the
// Kustomize base (so both overlays diff).
var Change = map[string]string{
	"modules/app/main.tf": `variable "name" {
  type = string
}

variable "replicas" {
  type = number
}

resource "terraform_data" "app" {
  input = {
    name     = var.name
    replicas = var.replicas
  }
}

resource "terraform_data" "dns" {
  input = "${var.name}.example.internal"
}

output "id" {
  value = terraform_data.app.id
}
`,
	"k8s/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
`,
}
