variable "project_id" {
  type        = string
  description = "Project the function, its service account and its IAM members live in."
}

variable "region" {
  type        = string
  description = "Region of the function (and of its underlying Cloud Run service)."
}

variable "name" {
  type        = string
  description = "Manifest entry name; also the Cloud Run service name and the push subscription name."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{2,40}$ (the manifest's rule)."
  }
}

variable "description" {
  type        = string
  description = "Human description shown in the console."
  default     = ""
}

variable "runtime" {
  type        = string
  description = "Cloud Run functions Python runtime."
  default     = "python312"

  validation {
    condition     = can(regex("^python3[0-9]{2}$", var.runtime))
    error_message = "runtime must be a Python runtime such as python312."
  }
}

variable "entry_point" {
  type        = string
  description = "Name of the decorated Python function in main.py."
}

variable "source_bucket" {
  type        = string
  description = "Bucket holding the zip built by `make package`."
}

variable "source_object" {
  type        = string
  description = "Object path of this function's zip; a new path (per commit) redeploys it."
}

variable "build_service_account" {
  type        = string
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the service account Cloud Build builds the function as; never the project default, which new projects may leave without build rights."

  validation {
    condition     = can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account is projects/P/serviceAccounts/EMAIL."
  }
}

variable "scaling" {
  type = object({
    min_instances   = number
    max_instances   = number
    concurrency     = number
    cpu             = string
    memory          = string
    timeout_seconds = number
  })
  description = "Explicit Cloud Run scaling: instances, requests per instance, CPU, memory and request timeout."

  validation {
    condition     = var.scaling.min_instances >= 0 && var.scaling.max_instances >= 1 && var.scaling.min_instances <= var.scaling.max_instances
    error_message = "scaling needs 0 <= min_instances <= max_instances and max_instances >= 1."
  }
  validation {
    condition     = var.scaling.concurrency >= 1 && var.scaling.concurrency <= 1000
    error_message = "scaling.concurrency must be between 1 and 1000."
  }
  validation {
    # Cloud Run only serves concurrent requests on an instance with at least one CPU.
    condition     = var.scaling.concurrency == 1 || tonumber(var.scaling.cpu) >= 1
    error_message = "scaling.concurrency above 1 needs scaling.cpu of at least 1."
  }
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.scaling.memory))
    error_message = "scaling.memory must look like 512Mi or 2Gi."
  }
  validation {
    condition     = var.scaling.timeout_seconds >= 1 && var.scaling.timeout_seconds <= 3600
    error_message = "scaling.timeout_seconds must be between 1 and 3600."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain environment variables (never secrets)."
  default     = {}
}

variable "secrets" {
  type = list(object({
    env    = string
    secret = string
  }))
  description = "Secret Manager secrets (short ids in this project) exposed as environment variables; the function's account may read these and nothing else."
  default     = []
}

variable "firestore_access" {
  type        = bool
  description = "Whether the function reads or writes Firestore (grants roles/datastore.user)."
  default     = false
}

variable "publishes" {
  type        = list(string)
  description = "Topic ids the function publishes to; it gets roles/pubsub.publisher on each, and on no other topic."
  default     = []
}

variable "access" {
  type        = string
  description = "Who may invoke: public (allUsers; the code checks bearer tokens), operators (the listed members only) or pubsub (the push account only)."

  validation {
    condition     = contains(["public", "operators", "pubsub"], var.access)
    error_message = "access must be public, operators or pubsub."
  }
}

variable "operator_invokers" {
  type        = map(string)
  description = "IAM members allowed to invoke an operators function, by a fixed key (the keys must be known at plan time; the members may be computed)."
  default     = {}

  validation {
    condition     = alltrue([for member in values(var.operator_invokers) : !contains(["allUsers", "allAuthenticatedUsers"], member)])
    error_message = "operator_invokers must name principals, never allUsers or allAuthenticatedUsers."
  }
}

variable "pubsub_trigger" {
  type = object({
    topic                 = string
    dead_letter_topic     = optional(string)
    push_path             = string
    ack_deadline_seconds  = number
    max_delivery_attempts = number
    minimum_backoff       = string
    maximum_backoff       = string
    push_service_account  = string
    pubsub_service_agent  = string
  })
  description = "For access = pubsub: the push subscription as modules/runtime_config computes it (topic, dead-letter topic or null on a dead-letter topic, push path, ack deadline, retry policy), the account Pub/Sub signs pushes with, and the Pub/Sub service agent that forwards dead letters."
  default     = null

  validation {
    condition     = var.pubsub_trigger == null || (try(var.pubsub_trigger.max_delivery_attempts, 5) >= 5 && try(var.pubsub_trigger.max_delivery_attempts, 5) <= 100)
    error_message = "pubsub_trigger.max_delivery_attempts must be between 5 and 100 (Pub/Sub's bounds)."
  }
  validation {
    condition     = var.pubsub_trigger == null || (try(var.pubsub_trigger.ack_deadline_seconds, 10) >= 10 && try(var.pubsub_trigger.ack_deadline_seconds, 10) <= 600)
    error_message = "pubsub_trigger.ack_deadline_seconds must be between 10 and 600 (Pub/Sub's bounds)."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels on the function and its subscription."
  default     = {}
}

variable "secret_versions" {
  type        = map(string)
  description = "Secret id => the version number each revision reads (pinned, never latest); every secret in `secrets` needs one."
  default     = {}
}

variable "public_invoker" {
  type        = string
  description = "How a public function admits anyone: allUsers (an IAM grant) or none (no grant; Cloud Build turns the invoker IAM check off, for organisations that refuse allUsers)."
  default     = "allUsers"

  validation {
    condition     = contains(["allUsers", "none"], var.public_invoker)
    error_message = "public_invoker is allUsers or none."
  }
}
