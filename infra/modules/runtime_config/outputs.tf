output "environment_variables" {
  description = "Manifest entry name => the plain environment variables its function runs with."
  value       = local.environment_variables
}

output "secret_environment_variables" {
  description = "Manifest entry name => Secret Manager secrets exposed as environment variables ({env, secret})."
  value       = { for name, entry in local.entries : name => try(entry.secrets, []) }
}

output "base_topics" {
  description = "Topics that get a module of their own (each with its <topic>-dead-letter topic)."
  value       = local.base_topics
}

output "incident_topic" {
  description = "Topic Cloud Monitoring publishes incidents to."
  value       = local.incident_topic
}

output "subscriptions" {
  description = "Pub/Sub entry name => its push subscription: topic, dead-letter topic, push path, ack deadline and retry policy."
  value       = local.subscriptions
}

output "scheduled_http_calls" {
  description = "Scheduled call key => target function, method, path, headers, JSON body, schedule and attempt deadline."
  value       = local.scheduled_http_calls
}

output "scheduled_messages" {
  description = "Scheduled Pub/Sub message key => topic, data and schedule."
  value       = local.scheduled_messages
}

output "token_budget_shards" {
  description = "CHAT_TOKEN_BUDGET_SHARDS every function gets: the deployment token meter's shards, derived from the manifest's model slots."
  value       = local.token_budget_shards
}
