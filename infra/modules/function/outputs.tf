output "name" {
  description = "Function (and Cloud Run service) name."
  value       = google_cloudfunctions2_function.function.name
}

output "uri" {
  description = "HTTPS URL of the function's Cloud Run service."
  value       = google_cloudfunctions2_function.function.service_config[0].uri
}

output "service_account_email" {
  description = "The function's own runtime service account."
  value       = google_service_account.function.email
}

output "subscription" {
  description = "The push subscription that triggers a Pub/Sub entry point (null for HTTP ones)."
  value       = try(google_pubsub_subscription.trigger[0].name, null)
}
