output "topic" {
  description = "Topic id."
  value       = google_pubsub_topic.topic.name
}

output "dead_letter_topic" {
  description = "Dead-letter topic id."
  value       = google_pubsub_topic.dead_letter.name
}

output "dead_letter_subscription" {
  description = "Pull subscription holding the dead-letter backlog."
  value       = google_pubsub_subscription.dead_letter_backlog.name
}
