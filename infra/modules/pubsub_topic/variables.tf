variable "project_id" {
  type        = string
  description = "Project of the topics."
}

variable "name" {
  type        = string
  description = "Topic id; the dead-letter topic is <name>-dead-letter."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,200}$", var.name)) && !endswith(var.name, "-dead-letter")
    error_message = "name must be a topic id of at least 3 characters that is not itself a dead-letter topic."
  }
}

variable "pubsub_service_agent" {
  type        = string
  description = "Email of the project's Pub/Sub service agent, which publishes dead letters."
}

variable "message_retention_duration" {
  type        = string
  description = "How long the topics keep messages (lets a new subscription replay recent events)."
  default     = "86400s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.message_retention_duration))
    error_message = "message_retention_duration is a number of seconds such as 86400s."
  }
}

variable "dead_letter_retention_duration" {
  type        = string
  description = "How long the backlog subscription keeps dead letters for inspection and replay (at most 7 days)."
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter_retention_duration)) && tonumber(trimsuffix(var.dead_letter_retention_duration, "s")) <= 604800
    error_message = "dead_letter_retention_duration is at most 604800s."
  }
}

variable "kms_key_name" {
  type        = string
  description = "Customer-managed key for the topics; null = Google-managed encryption."
  default     = null
}

variable "labels" {
  type        = map(string)
  description = "Labels on the topics and the subscription."
  default     = {}
}
