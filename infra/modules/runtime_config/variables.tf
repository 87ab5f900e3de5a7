variable "manifest" {
  type        = any
  description = "infra/functions.yaml, decoded (yamldecode) by the caller."
}

variable "project_id" {
  type        = string
  description = "Project the functions run in (GOOGLE_CLOUD_PROJECT, push paths, topic names)."
}

variable "environment" {
  type        = string
  description = "staging or prod; prod runs with ENVIRONMENT=production."

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment is staging or prod."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions (PLATFORM_REGION of the operator tools); null = the manifest's defaults.region."
  default     = null
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of every function."
  default     = "INFO"
}

variable "allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed by CORS (ALLOWED_ORIGINS)."
  default     = []
}

variable "api_url" {
  type        = string
  description = "Base URL of the public API (the load balancer's https://<first domain>), which the scheduled load test targets."

  validation {
    condition     = can(regex("^https?://[^/]+$", var.api_url))
    error_message = "api_url is a scheme and host (and port), without a path or trailing slash."
  }
}

variable "scheduled_calls" {
  type = map(object({
    path     = string
    schedule = string
    method   = optional(string, "POST")
    body     = optional(string, "{}")
  }))
  description = "Cloud Scheduler HTTP calls into the function whose manifest path prefix serves `path`, each with an OIDC token."

  validation {
    condition     = alltrue([for job in values(var.scheduled_calls) : startswith(job.path, "/v1/") && can(jsondecode(job.body))])
    error_message = "Scheduled calls target contract paths under /v1/ with a JSON body."
  }
}

variable "outbox_relay_topic" {
  type        = string
  description = "Topic a scheduler tick is published to every minute when a manifest entry listens on it."
  default     = "outbox-relay"
}

variable "push_retry" {
  type = object({
    max_delivery_attempts = number
    minimum_backoff       = string
    maximum_backoff       = string
  })
  description = "Retry policy of every push subscription; after max_delivery_attempts a message goes to <topic>-dead-letter."
  default = {
    max_delivery_attempts = 5
    minimum_backoff       = "10s"
    maximum_backoff       = "600s"
  }

  validation {
    condition     = var.push_retry.max_delivery_attempts >= 5 && var.push_retry.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts is between 5 and 100 (Pub/Sub's bounds)."
  }
}

variable "rate_limits" {
  description = "Per-address throttles Cloud Armor enforces; the functions' own bounds get the same numbers."
  type = object({
    session_create_per_minute = number
    chat_post_per_minute      = number
  })
}

variable "model_secret" {
  type        = string
  description = "Secret id of the model provider's key: the manifest entries holding it call the model and spend on the token meters."
  default     = "anthropic-api-key"
}

variable "model_run_seconds" {
  type        = number
  description = "Planning figure: how long a model run (a streamed answer) holds its slot on average; the token meter's shard count follows from it (tools/capacity.py MODEL_RUN_SECONDS)."
  default     = 10

  validation {
    condition     = var.model_run_seconds >= 1 && var.model_run_seconds <= 300
    error_message = "model_run_seconds is between 1 and 300."
  }
}
