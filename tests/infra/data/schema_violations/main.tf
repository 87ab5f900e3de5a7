# Deliberate mistakes for tests/infra/test_provider_schema.py; never deployed.

resource "google_pubsub_subscription" "misspelt_argument" {
  name                = "orders"
  topic               = "orders"
  ack_deadline_second = 60
}

resource "google_pubsub_subscription" "missing_required_argument" {
  name = "orders"
}

resource "google_pubsub_subscription" "argument_written_as_block" {
  name  = "orders"
  topic = "orders"

  labels {
    team = "platform"
  }
}

resource "google_pubsub_subscription" "unknown_nested_block" {
  name  = "orders"
  topic = "orders"

  push_config {
    push_endpoint = "https://example.com/push"

    oidc {
      service_account_email = "push@example.iam.gserviceaccount.com"
    }
  }
}

resource "google_cloud_scheduler_job" "dynamic_block_with_a_misspelt_argument" {
  name = "tick"

  dynamic "pubsub_target" {
    for_each = ["ticks"]
    content {
      topic = pubsub_target.value
    }
  }
}
