output "database" {
  description = "Database name."
  value       = google_firestore_database.database.name
}

output "composite_indexes" {
  description = "Created composite index ids by key."
  value       = { for key, index in google_firestore_index.composite : key => index.id }
}

output "backup_schedules" {
  description = "Backup schedule ids (daily, weekly) that exist."
  value = {
    daily  = try(google_firestore_backup_schedule.daily[0].id, null)
    weekly = try(google_firestore_backup_schedule.weekly[0].id, null)
  }
}
