variable "project_id" {
  type        = string
  description = "Project whose metrics, logs, dashboards and alert policies these are."
}

variable "name" {
  type        = string
  description = "Prefix of dashboard and alert-policy display names (for example agent-platform staging)."
}

variable "services" {
  type        = list(string)
  description = "Every function's Cloud Run service name; each gets a dashboard row and the 5xx-ratio alert."

  validation {
    condition     = length(var.services) >= 1 && length(var.services) == length(distinct(var.services))
    error_message = "services lists at least one service, each once."
  }
}

variable "latency_p95_ms" {
  type        = map(number)
  description = "Service name => p95 request latency (ms) above which an alert opens; HTTP services only, since a Pub/Sub push's latency is the consumer's work."

  validation {
    condition     = alltrue([for ms in values(var.latency_p95_ms) : ms >= 50 && ms <= 3600000])
    error_message = "Latency thresholds are between 50 ms and one hour."
  }
}

variable "dead_letter_subscriptions" {
  type        = list(string)
  description = "Pull subscriptions holding dead letters; any undelivered message there opens an alert."
}

variable "incident_topic" {
  type        = string
  description = "Topic id Cloud Monitoring publishes incidents to (the alerts function consumes it)."
}

variable "monitoring_service_agent" {
  type        = string
  description = "Email of the Cloud Monitoring notification service agent, which publishes to incident_topic."
}

variable "dashboards_dir" {
  type        = string
  description = "Folder holding function_row.json (templated per service) and platform.json."
}

variable "functions_per_dashboard" {
  type        = number
  description = "Function rows per dashboard (6 tiles each); several dashboards keep each one well under Cloud Monitoring's widget limit."
  default     = 6

  validation {
    condition     = var.functions_per_dashboard >= 1 && var.functions_per_dashboard <= 6
    error_message = "functions_per_dashboard is between 1 and 6."
  }
}

variable "error_ratio_threshold" {
  type        = number
  description = "Fraction of 5xx answers that opens an alert when sustained for error_ratio_duration."
  default     = 0.01

  validation {
    condition     = var.error_ratio_threshold > 0 && var.error_ratio_threshold < 1
    error_message = "error_ratio_threshold is a fraction between 0 and 1."
  }
}

variable "error_ratio_duration" {
  type        = string
  description = "How long the 5xx ratio must stay above the threshold."
  default     = "300s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.error_ratio_duration))
    error_message = "error_ratio_duration is a number of seconds such as 300s."
  }
}

variable "alert_emails" {
  type        = list(string)
  description = "Addresses every alert policy also e-mails, straight from Cloud Monitoring: the second alert path, independent of Pub/Sub, the alerts function and Slack."
  default     = []

  validation {
    condition     = alltrue([for address in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alert_emails lists e-mail addresses."
  }
}
