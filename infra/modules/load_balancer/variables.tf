variable "project_id" {
  type        = string
  description = "Project of the load balancer."
}

variable "region" {
  type        = string
  description = "Region of the functions behind the serverless NEGs."
}

variable "name" {
  type        = string
  description = "Prefix for every load-balancer resource name."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name))
    error_message = "name must be a lowercase prefix of at most 20 characters (resource names stop at 63)."
  }
}

variable "domains" {
  type        = list(string)
  description = "Domains of the Google-managed certificate; their DNS A records must point at the load balancer's address."

  validation {
    condition     = length(var.domains) >= 1 && alltrue([for domain in var.domains : can(regex("^[a-z0-9.-]+\\.[a-z]{2,}$", domain))])
    error_message = "domains needs at least one lowercase host name."
  }
}

variable "backends" {
  type = map(object({
    function = string
    paths    = list(string)
  }))
  description = "HTTP entry name => its function (Cloud Run service) and the contract path prefixes it serves."

  validation {
    condition     = length(var.backends) >= 1 && alltrue(flatten([for backend in values(var.backends) : [for path in backend.paths : can(regex("^/([a-z0-9/_-]*[a-z0-9])?$", path))]]))
    error_message = "backends needs at least one entry; each path is a prefix like /v1/sessions (no trailing slash), or / for the root page alone."
  }
}

variable "default_backend" {
  type        = string
  description = "Key of var.backends that receives unmatched paths (its router answers them with a JSON 404)."
}

variable "rate_limits" {
  type = object({
    session_create_per_minute = number
    chat_post_per_minute      = number
    general_per_minute        = number
    ban_seconds               = number
  })
  description = "Cloud Armor per-client-IP limits: guest-session creation, chat POSTs, every other request; and how long a client over the general limit is banned."
  default = {
    session_create_per_minute = 10
    chat_post_per_minute      = 60
    general_per_minute        = 600
    ban_seconds               = 300
  }

  validation {
    condition = (
      var.rate_limits.session_create_per_minute >= 1 &&
      var.rate_limits.chat_post_per_minute >= 1 &&
      var.rate_limits.session_create_per_minute < var.rate_limits.general_per_minute &&
      var.rate_limits.chat_post_per_minute < var.rate_limits.general_per_minute &&
      var.rate_limits.ban_seconds >= 60
    )
    error_message = "The session and chat limits must be at least 1 and stricter than the general limit; bans last at least 60 s."
  }
}

variable "log_sample_rate" {
  type        = number
  description = "Fraction of requests the backend services log."
  default     = 1

  validation {
    condition     = var.log_sample_rate >= 0 && var.log_sample_rate <= 1
    error_message = "log_sample_rate is between 0 and 1."
  }
}

variable "waf_sensitivity" {
  type        = number
  description = "Sensitivity (OWASP paranoia level) of the preconfigured WAF rules: 1 = highest-confidence signatures only, 4 = all."
  default     = 1

  validation {
    condition     = contains([1, 2, 3, 4], var.waf_sensitivity)
    error_message = "waf_sensitivity is 1, 2, 3 or 4."
  }
}

variable "waf_preview" {
  type        = bool
  description = "Log what the preconfigured WAF rules would block without blocking it (to tune before enforcing)."
  default     = false
}

variable "waf_enforce_body_rules" {
  type        = bool
  description = "Enforce the WAF rules that match request bodies (sqli, xss, lfi, rfi). Off: they only log (preview), since chat messages, system prompts and webhook payloads legitimately carry code; turn on once their logs show no false positives."
  default     = false
}
