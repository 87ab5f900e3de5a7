# The Firestore (native mode) database, TTL policies and the composite indexes the
# code's queries need (tests/infra/test_firestore_indexes.py keeps them in step).

locals {
  index_exemptions = merge([
    for collection, fields in var.index_exemptions : {
      for field in fields : "${collection}.${field}" => { collection = collection, field = field }
    }
  ]...)
}

resource "google_firestore_database" "database" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.location_id
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.delete_protection ? "ABANDON" : "DELETE"
}

# Managed backups (docs/restore.md): a daily one kept up to 7 days and a weekly one kept up
# to 14 weeks, Firestore's limits for each kind of schedule (one of each per database).
# Point-in-time recovery (above) covers the last 7 days at minute granularity; backups
# survive a deleted database and reach further back.
resource "google_firestore_backup_schedule" "daily" {
  count = var.backup_daily_retention_days > 0 ? 1 : 0

  project   = var.project_id
  database  = google_firestore_database.database.name
  retention = "${var.backup_daily_retention_days * 86400}s"

  daily_recurrence {}
}

resource "google_firestore_backup_schedule" "weekly" {
  count = var.backup_weekly_retention_weeks > 0 ? 1 : 0

  project   = var.project_id
  database  = google_firestore_database.database.name
  retention = "${var.backup_weekly_retention_weeks * 7 * 86400}s"

  weekly_recurrence {
    day = var.backup_weekly_day
  }
}

# TTL deletes documents within about a day of expiry; readers still refuse expired ones.
# A TTL field listed in unindexed_ttl_fields also loses its single-field indexes (an empty
# index_config): TTL does not need them, and a rising timestamp indexed on every write is a
# hot spot past ~500 writes/s.
resource "google_firestore_field" "ttl" {
  for_each = var.ttl_fields

  project    = var.project_id
  database   = google_firestore_database.database.name
  collection = each.key
  field      = each.value

  ttl_config {}

  dynamic "index_config" {
    for_each = contains(var.unindexed_ttl_fields, each.key) ? [each.value] : []
    content {}
  }
}

# Other rising fields no query reads alone: exempted from single-field indexing.
resource "google_firestore_field" "unindexed" {
  for_each = local.index_exemptions

  project    = var.project_id
  database   = google_firestore_database.database.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}

  lifecycle {
    # One google_firestore_field per field: a TTL field is exempted through ttl above.
    precondition {
      condition     = lookup(var.ttl_fields, each.value.collection, "") != each.value.field
      error_message = "${each.key} is a TTL field: list its collection in unindexed_ttl_fields instead."
    }
  }
}

resource "google_firestore_index" "composite" {
  for_each = var.composite_indexes

  project     = var.project_id
  database    = google_firestore_database.database.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.field_path
      order        = fields.value.order
      array_config = fields.value.array_config
    }
  }
}
