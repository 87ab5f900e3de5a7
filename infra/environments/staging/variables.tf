variable "project_id" {
  type        = string
  description = "This environment's project."
}

variable "domains" {
  type        = list(string)
  description = "API host names (their A records point at the api_ip output)."
}

variable "source_bucket" {
  type        = string
  description = "Bucket holding the function zips (see the README's bootstrap step)."
}

variable "source_prefix" {
  type        = string
  description = "Folder of this build's zips in source_bucket; Cloud Build passes the commit SHA."
}

variable "operators_group" {
  type        = string
  description = "IAM member of the operators, e.g. group:platform-ops@example.com."
}

variable "allowed_origins" {
  type        = list(string)
  description = "Browser origins allowed by CORS."
  default     = []
}

variable "secret_versions" {
  type        = map(string)
  description = "Secret id => version number the functions read (Cloud Build passes _SECRET_VERSIONS)."
}

variable "public_invoker" {
  type        = string
  description = "allUsers, or none where the organisation refuses allUsers grants (docs/deploy.md)."
  default     = "allUsers"
}

variable "alert_emails" {
  type        = list(string)
  description = "Addresses every alert also e-mails (the second alert path)."
  default     = []
}
