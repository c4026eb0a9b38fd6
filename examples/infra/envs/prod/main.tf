module "app" {
  source   = "../../modules/app"
  name     = "web-prod"
  replicas = 3
}

resource "terraform_data" "env" {
  input = "prod"
}
