output "notification_channel" {
  description = "The Pub/Sub notification channel every alert policy uses."
  value       = google_monitoring_notification_channel.incidents.id
}

output "dashboards" {
  description = "Dashboard ids: the platform one first, then the function ones."
  value       = concat([google_monitoring_dashboard.platform.id], [for dashboard in google_monitoring_dashboard.functions : dashboard.id])
}
