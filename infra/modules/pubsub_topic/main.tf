# A topic, its dead-letter topic, and a pull subscription on the dead-letter topic that
# holds the backlog: the "dead-letter backlog above 0" alert watches it, and operators
# inspect or replay from it.

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption unless kms_key_name is set; events hold ids and metrics, not secrets.
  project                    = var.project_id
  name                       = var.name
  labels                     = var.labels
  message_retention_duration = var.message_retention_duration
  kms_key_name               = var.kms_key_name
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Same encryption choice as the main topic.
  project                    = var.project_id
  name                       = "${var.name}-dead-letter"
  labels                     = var.labels
  message_retention_duration = var.dead_letter_retention_duration
  kms_key_name               = var.kms_key_name
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent}"
}

resource "google_pubsub_subscription" "dead_letter_backlog" {
  project                    = var.project_id
  name                       = "${var.name}-dead-letter-backlog"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention_duration
  retain_acked_messages      = true

  expiration_policy {
    ttl = "" # the backlog must outlive quiet periods
  }
}
