# The Firestore (native mode) database, TTL policies and the composite indexes the
# code's queries need (tests/infra/test_firestore_indexes.py keeps them in step).

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

# TTL deletes documents within about a day of expiry; readers still refuse expired ones.
resource "google_firestore_field" "ttl" {
  for_each = var.ttl_fields

  project    = var.project_id
  database   = google_firestore_database.database.name
  collection = each.key
  field      = each.value

  ttl_config {}
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
