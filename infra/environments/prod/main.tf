# Production: the manifest's minimum instances (chat stays warm), protected database.
# State: gs://<state bucket>/agent-platform/prod (bucket passed to `terraform init
# -backend-config=bucket=...`, see the README's Deploy section).

terraform {
  backend "gcs" {
    prefix = "agent-platform/prod"
  }
}

provider "google" {
  project = var.project_id
}

provider "google-beta" {
  project = var.project_id
}

module "platform" {
  source = "../.."

  project_id        = var.project_id
  environment       = "prod"
  domains           = var.domains
  source_bucket     = var.source_bucket
  source_prefix     = var.source_prefix
  operators_group   = var.operators_group
  allowed_origins   = var.allowed_origins
  secret_versions   = var.secret_versions
  public_invoker    = var.public_invoker
  alert_emails      = var.alert_emails
  scale_to_zero     = false
  delete_protection = true
  log_level         = "INFO"
}
