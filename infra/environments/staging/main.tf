# Staging: scales to zero, deletable database, DEBUG-friendly logs.
# State: gs://<state bucket>/agent-platform/staging (bucket passed to `terraform init
# -backend-config=bucket=...`, see the README's Deploy section).

terraform {
  backend "gcs" {
    prefix = "agent-platform/staging"
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
  environment       = "staging"
  domains           = var.domains
  source_bucket     = var.source_bucket
  source_prefix     = var.source_prefix
  operators_group   = var.operators_group
  allowed_origins   = var.allowed_origins
  secret_versions   = var.secret_versions
  public_invoker    = var.public_invoker
  alert_emails      = var.alert_emails
  scale_to_zero     = true
  delete_protection = false
  log_level         = "DEBUG"

  # Staging data can be rebuilt: two days of daily backups to rehearse a restore, no weekly.
  backup_retention = {
    daily_days   = 2
    weekly_weeks = 0
  }

  rate_limits = {
    session_create_per_minute = 20
    chat_post_per_minute      = 120
    general_per_minute        = 1200
    ban_seconds               = 60
  }
}
