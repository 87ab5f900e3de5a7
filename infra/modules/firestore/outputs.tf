output "database" {
  description = "Database name."
  value       = google_firestore_database.database.name
}

output "composite_indexes" {
  description = "Created composite index ids by key."
  value       = { for key, index in google_firestore_index.composite : key => index.id }
}
