variable "name" {
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

output "id" {
  value = terraform_data.app.id
}
