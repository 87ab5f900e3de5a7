variable "project_id" {
  type        = string
  description = "Project of the database."
}

variable "location_id" {
  type        = string
  description = "Firestore location (a region such as europe-west1 or a multi-region such as eur3); fixed once created."
}

variable "delete_protection" {
  type        = bool
  description = "Refuse to delete the database (on in production)."
  default     = true
}

variable "ttl_fields" {
  type        = map(string)
  description = "Collection group => timestamp field whose value is the document's expiry (Firestore TTL policy)."
  default     = {}

  validation {
    condition     = alltrue([for collection, field in var.ttl_fields : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", collection)) && can(regex("^[A-Za-z_][A-Za-z0-9_]*$", field))])
    error_message = "ttl_fields maps plain collection ids to plain field names."
  }
}

variable "unindexed_ttl_fields" {
  type        = list(string)
  description = "Collections of ttl_fields whose TTL field is also exempted from single-field indexing (TTL needs no index; a rising timestamp indexed on every write is a hot spot)."
  default     = []

  validation {
    condition     = alltrue([for collection in var.unindexed_ttl_fields : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", collection))])
    error_message = "unindexed_ttl_fields lists plain collection ids."
  }
}

variable "index_exemptions" {
  type        = map(list(string))
  description = "Collection group => fields exempted from single-field indexing (rising fields no query reads alone). Composite indexes are unaffected."
  default     = {}

  validation {
    condition = alltrue(flatten([for collection, fields in var.index_exemptions : [
      for field in fields : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", collection)) && can(regex("^[A-Za-z_][A-Za-z0-9_]*$", field))
    ]]))
    error_message = "index_exemptions maps plain collection ids to plain field names."
  }
}

variable "composite_indexes" {
  type = map(object({
    collection  = string
    query_scope = optional(string, "COLLECTION")
    fields = list(object({
      field_path   = string
      order        = optional(string)
      array_config = optional(string)
    }))
  }))
  description = "Composite indexes by a descriptive key; each lists its fields in query order (equality and array-contains fields first, then the order_by fields). A field has either an order or array_config = CONTAINS."
  default     = {}

  validation {
    condition     = alltrue([for index in values(var.composite_indexes) : length(index.fields) >= 2])
    error_message = "A composite index has at least two fields; single-field indexes are automatic."
  }
  validation {
    condition = alltrue(flatten([for index in values(var.composite_indexes) : [
      for field in index.fields :
      field.array_config == null ? contains(["ASCENDING", "DESCENDING"], coalesce(field.order, "-")) : (field.order == null && field.array_config == "CONTAINS")
    ]]))
    error_message = "Each indexed field has order ASCENDING or DESCENDING, or (only) array_config CONTAINS."
  }
  validation {
    condition     = alltrue([for index in values(var.composite_indexes) : contains(["COLLECTION", "COLLECTION_GROUP"], index.query_scope)])
    error_message = "query_scope is COLLECTION or COLLECTION_GROUP."
  }
}

variable "backup_daily_retention_days" {
  type        = number
  description = "Days a daily backup is kept (Firestore allows at most 7); 0 = no daily backups."
  default     = 7

  validation {
    condition     = var.backup_daily_retention_days >= 0 && var.backup_daily_retention_days <= 7 && floor(var.backup_daily_retention_days) == var.backup_daily_retention_days
    error_message = "backup_daily_retention_days is a whole number from 0 to 7 (Firestore keeps a daily backup at most 7 days)."
  }
}

variable "backup_weekly_retention_weeks" {
  type        = number
  description = "Weeks a weekly backup is kept (Firestore allows at most 14); 0 = no weekly backups."
  default     = 14

  validation {
    condition     = var.backup_weekly_retention_weeks >= 0 && var.backup_weekly_retention_weeks <= 14 && floor(var.backup_weekly_retention_weeks) == var.backup_weekly_retention_weeks
    error_message = "backup_weekly_retention_weeks is a whole number from 0 to 14 (Firestore keeps a weekly backup at most 14 weeks)."
  }
}

variable "backup_weekly_day" {
  type        = string
  description = "Day of the week the weekly backup is taken (UTC)."
  default     = "SUNDAY"

  validation {
    condition     = contains(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], var.backup_weekly_day)
    error_message = "backup_weekly_day is a day of the week in capitals, such as SUNDAY."
  }
}
