module "app" {
  source   = "../../modules/app"
  name     = "web-dev"
  replicas = 1
}

resource "terraform_data" "env" {
  input = "dev"
}
