variable "project_id" {
  type        = string
  description = "Project of this environment (one project per environment)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id."
  }
}

variable "environment" {
  type        = string
  description = "Environment name; also ENVIRONMENT for the functions (prod runs as production)."

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment is staging or prod."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions and the scheduler; null = the manifest's defaults.region."
  default     = null
}

variable "firestore_location" {
  type        = string
  description = "Firestore location (fixed once the database exists); null = the function region."
  default     = null
}

variable "domains" {
  type        = list(string)
  description = "API host names for the managed certificate (point their A records at the api_ip output)."
}

variable "source_bucket" {
  type        = string
  description = "Bucket Cloud Build uploads the function zips to (bootstrapped with the state bucket)."
}

variable "source_prefix" {
  type        = string
  description = "Folder of this build's zips in source_bucket (the commit SHA): a new prefix redeploys every function."

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.source_prefix))
    error_message = "source_prefix is a single path segment such as a commit SHA."
  }
}

variable "operators_group" {
  type        = string
  description = "IAM member of the operators allowed on operators-only functions, e.g. group:platform-ops@example.com."

  validation {
    condition     = can(regex("^(group|user|serviceAccount|domain):", var.operators_group))
    error_message = "operators_group is an IAM member such as group:ops@example.com."
  }
}

variable "allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed by CORS (ALLOWED_ORIGINS)."
  default     = []
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of every function."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level is DEBUG, INFO, WARNING or ERROR."
  }
}

variable "scale_to_zero" {
  type        = bool
  description = "Ignore the manifest's minInstances and let every function scale to zero (staging)."
  default     = false
}

variable "scheduled_calls" {
  type = map(object({
    path     = string
    schedule = string
    method   = optional(string, "POST")
    body     = optional(string, "{}")
  }))
  description = "Cloud Scheduler jobs: a call with an OIDC token to the HTTP function whose manifest path prefix serves `path`, with a JSON body. `make rehearse` fires each one and expects a 2xx."
  default = {
    # The contract requires a scenario; the target is the public API (modules/runtime_config).
    loadtest = { path = "/v1/loadtests/runs", schedule = "*/30 * * * *", body = "{\"scenario\": \"light\"}" }
    # Abandoned answers and expired guests' data (shared/chat/sweeps.py); bounded per pass.
    sweep = { path = "/v1/sweeps", schedule = "*/10 * * * *" }
  }

  validation {
    condition     = alltrue([for job in values(var.scheduled_calls) : startswith(job.path, "/v1/") && can(jsondecode(job.body))])
    error_message = "Scheduled calls target contract paths under /v1/ with a JSON body."
  }
}

variable "rate_limits" {
  type = object({
    session_create_per_minute = number
    chat_post_per_minute      = number
    general_per_minute        = number
    ban_seconds               = number
  })
  description = "Cloud Armor per-client-IP limits (see modules/load_balancer)."
  default = {
    session_create_per_minute = 10
    chat_post_per_minute      = 60
    general_per_minute        = 600
    ban_seconds               = 300
  }
}

variable "latency_p95_default_ms" {
  type        = number
  description = "p95 latency alert threshold for HTTP functions whose timeout is under a minute; longer-running ones (streams, load tests) alert at a tenth of their timeout."
  default     = 1000

  validation {
    condition     = var.latency_p95_default_ms >= 50
    error_message = "latency_p95_default_ms is at least 50."
  }
}

variable "latency_p95_ms" {
  type        = map(number)
  description = "Per-function overrides of the p95 latency alert threshold (ms), by manifest name."
  default     = {}
}

variable "delete_protection" {
  type        = bool
  description = "Protect the Firestore database from deletion."
  default     = true
}

variable "backup_retention" {
  type = object({
    daily_days   = number
    weekly_weeks = number
  })
  description = "Firestore managed backups: days a daily backup is kept (at most 7) and weeks a weekly one is kept (at most 14); 0 turns a schedule off. docs/restore.md restores from them."
  default = {
    daily_days   = 7
    weekly_weeks = 14
  }

  validation {
    condition     = var.backup_retention.daily_days >= 0 && var.backup_retention.daily_days <= 7 && var.backup_retention.weekly_weeks >= 0 && var.backup_retention.weekly_weeks <= 14
    error_message = "Firestore keeps a daily backup at most 7 days and a weekly one at most 14 weeks."
  }
}

variable "secret_versions" {
  type        = map(string)
  description = "Secret id => the version number the functions read (never latest): a rotation adds a version, then changes this number (Cloud Build: _SECRET_VERSIONS)."

  validation {
    condition     = alltrue([for version in values(var.secret_versions) : can(regex("^[0-9]+$", version))])
    error_message = "secret_versions pins version numbers such as \"3\", never latest."
  }
}

variable "public_invoker" {
  type        = string
  description = "allUsers: public functions get an allUsers invoker grant. none: no grant, and Cloud Build turns their invoker IAM check off (for organisations whose domain-restricted-sharing policy refuses allUsers)."
  default     = "allUsers"

  validation {
    condition     = contains(["allUsers", "none"], var.public_invoker)
    error_message = "public_invoker is allUsers or none."
  }
}

variable "alert_emails" {
  type        = list(string)
  description = "Addresses every alert policy also e-mails (the second alert path, independent of Slack); production should have at least one."
  default     = []
}
