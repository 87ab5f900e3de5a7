# Dashboards, log-based metrics and alert policies. Every alert notifies the Pub/Sub
# channel on the incident topic, which the alerts function turns into Slack messages.

locals {
  run_filter         = "resource.type=\"cloud_run_revision\""
  scheduler_failures = "resource.type=\"cloud_scheduler_job\" AND severity>=ERROR"
  services           = join(", ", [for service in var.services : "\"${service}\""])

  # Log-based metrics read the structured fields the functions log (shared/core/log.py puts
  # `extra={"fields": ...}` at the top of jsonPayload). Each filter names the one log line
  # that carries the value (by its message), so each event counts once.
  chat_run = "${local.run_filter} AND jsonPayload.message=\"chat run finished\""
  distribution_metrics = {
    chat_input_tokens = {
      description = "Input tokens per finished chat run (chat and persona answers)."
      filter      = "${local.chat_run} AND jsonPayload.inputTokens:*"
      field       = "jsonPayload.inputTokens"
      unit        = "1"
      labels      = { model = "jsonPayload.model" }
      scale       = 1
      growth      = 2
    }
    chat_output_tokens = {
      description = "Output tokens per finished chat run."
      filter      = "${local.chat_run} AND jsonPayload.outputTokens:*"
      field       = "jsonPayload.outputTokens"
      unit        = "1"
      labels      = { model = "jsonPayload.model" }
      scale       = 1
      growth      = 2
    }
    model_latency = {
      description = "Time the model took to answer a chat run (ms), by model and outcome."
      filter      = "${local.chat_run} AND jsonPayload.latencyMs:*"
      field       = "jsonPayload.latencyMs"
      unit        = "ms"
      labels      = { model = "jsonPayload.model", outcome = "jsonPayload.outcome" }
      scale       = 10
      growth      = 1.5
    }
  }

  counter_metrics = {
    persona_routes = {
      description = "Messages routed, by chosen persona."
      filter      = "${local.run_filter} AND jsonPayload.message=\"persona routed\" AND jsonPayload.persona:*"
      labels      = { persona = "jsonPayload.persona" }
    }
    webhook_deliveries = {
      description = "GitHub webhook deliveries, by GitHub event and outcome."
      filter      = "${local.run_filter} AND jsonPayload.message=\"github delivery recorded\""
      labels      = { event = "jsonPayload.githubEvent", outcome = "jsonPayload.outcome" }
    }
    notifications_sent = {
      description = "Alert notifications delivered, by channel (slack, or log without a Slack URL)."
      filter      = "${local.run_filter} AND jsonPayload.component=\"alerts\" AND jsonPayload.notificationId:* AND jsonPayload.groupKey:*"
      labels      = { channel = "jsonPayload.channel" }
    }
    loadtest_failures = {
      description = "Scheduled load-test runs whose verdict was fail (an SLO breached)."
      filter      = "${local.run_filter} AND jsonPayload.message=\"load test completed\" AND jsonPayload.verdict=\"fail\""
      labels      = {}
    }
  }

  # Several dashboards of at most functions_per_dashboard rows each.
  row_height = 4
  chunks     = chunklist(var.services, var.functions_per_dashboard)
  function_dashboards = {
    for index, chunk in local.chunks : tostring(index) => {
      displayName = "${var.name}: functions ${index + 1}/${length(local.chunks)}"
      mosaicLayout = {
        columns = 48
        tiles = flatten([
          for row, service in chunk : [
            for tile in jsondecode(templatefile("${var.dashboards_dir}/function_row.json", { service = service })) :
            merge(tile, { yPos = tile.yPos + row * local.row_height })
          ]
        ])
      }
    }
  }
  platform_dashboard = {
    displayName  = "${var.name}: platform"
    mosaicLayout = { columns = 48, tiles = jsondecode(file("${var.dashboards_dir}/platform.json")) }
  }

  documentation = "Runbook: open the dashboards named \"${var.name}\", then Cloud Logging filtered on the service named in this incident."

  email_channels        = [for address in sort(var.alert_emails) : google_monitoring_notification_channel.email[address].id]
  notification_channels = concat([google_monitoring_notification_channel.incidents.id], local.email_channels)
}

resource "google_logging_metric" "distribution" {
  for_each = local.distribution_metrics

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = each.value.filter

  value_extractor = "EXTRACT(${each.value.field})"
  label_extractors = {
    for label, field in each.value.labels : label => "EXTRACT(${field})"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = each.value.unit

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 40
      growth_factor      = each.value.growth
      scale              = each.value.scale
    }
  }
}

resource "google_logging_metric" "counter" {
  for_each = local.counter_metrics

  project     = var.project_id
  name        = each.key
  description = each.value.description
  filter      = each.value.filter
  label_extractors = {
    for label, field in each.value.labels : label => "EXTRACT(${field})"
  }

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }
}

resource "google_monitoring_dashboard" "functions" {
  for_each = local.function_dashboards

  project        = var.project_id
  dashboard_json = jsonencode(each.value)
}

resource "google_monitoring_dashboard" "platform" {
  project        = var.project_id
  dashboard_json = jsonencode(local.platform_dashboard)

  depends_on = [google_logging_metric.distribution, google_logging_metric.counter]
}

resource "google_monitoring_notification_channel" "incidents" {
  project      = var.project_id
  display_name = "${var.name}: incidents topic"
  type         = "pubsub"
  labels = {
    topic = "projects/${var.project_id}/topics/${var.incident_topic}"
  }
}

# The second path: e-mail, straight from Cloud Monitoring. The first path (incidents topic
# -> alerts function -> Slack) can break in any of its links; every policy also notifies
# these addresses, and the one below says when Slack delivery itself is failing.
resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  project      = var.project_id
  display_name = "${var.name}: e-mail ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_pubsub_topic_iam_member" "monitoring_publisher" {
  project = var.project_id
  topic   = var.incident_topic
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.monitoring_service_agent}"

  # The notification service agent exists once the project has a notification channel.
  depends_on = [google_monitoring_notification_channel.incidents]
}

resource "google_monitoring_alert_policy" "error_ratio" {
  project               = var.project_id
  display_name          = "${var.name}: 5xx ratio above ${var.error_ratio_threshold * 100}%"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "5xx / all requests, per function"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_filter} AND metric.label.response_code_class=\"5xx\" AND resource.label.service_name=one_of(${local.services})"
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_filter} AND resource.label.service_name=one_of(${local.services})"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_ratio_threshold
      duration           = var.error_ratio_duration

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    content   = "More than ${var.error_ratio_threshold * 100}% of a function's answers were 5xx for ${var.error_ratio_duration}. ${local.documentation}"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "latency_p95" {
  for_each = var.latency_p95_ms

  project               = var.project_id
  display_name          = "${var.name}: ${each.key} p95 latency above ${each.value} ms"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "${each.key} p95 request latency"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_filter} AND resource.label.service_name=\"${each.key}\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    content   = "${each.key} answered its slowest 5% of requests in more than ${each.value} ms for 5 minutes. ${local.documentation}"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  count = length(var.dead_letter_subscriptions) > 0 ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: dead-letter backlog above 0"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Undelivered dead letters"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for name in var.dead_letter_subscriptions : "\"${name}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.subscription_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    content   = "An event failed every delivery attempt and sits on a dead-letter topic. Inspect it with `gcloud pubsub subscriptions pull <subscription> --limit=10`; fix the consumer, republish to the main topic, then ack it."
    mime_type = "text/markdown"
  }
}

# A log-match condition, not a threshold on the loadtest_failures log-based metric: the
# Monitoring API answers 404 for a user metric until it has propagated, so a policy on a
# metric created in the same apply fails the first `terraform apply`
# (hashicorp/terraform-provider-google issue 11102). Matching the log line itself needs no
# metric (https://cloud.google.com/logging/docs/alerting/log-based-alerts); the metric
# stays for the dashboard, which tolerates a metric that does not exist yet.
resource "google_monitoring_alert_policy" "loadtest_failures" {
  project               = var.project_id
  display_name          = "${var.name}: scheduled load test failed"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "A load-test run's verdict was fail"
    condition_matched_log {
      filter = local.counter_metrics.loadtest_failures.filter
    }
  }

  documentation {
    content   = "A scheduled load test breached its SLO or could not run. See GET /v1/loadtests/runs for the run and its comparison with the previous one. ${local.documentation}"
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = "3600s"
    # Required for log-match conditions: at most one notification per period.
    notification_rate_limit {
      period = "300s"
    }
  }
}

# Cloud Scheduler logs each failed attempt of a job at severity ERROR (a non-2xx answer, a
# deadline, a refused OIDC token): a job that fails on every run would otherwise go
# unnoticed (https://cloud.google.com/scheduler/docs/monitoring-jobs).
resource "google_monitoring_alert_policy" "scheduler_failures" {
  project               = var.project_id
  display_name          = "${var.name}: a Cloud Scheduler job failed"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Failed scheduler attempts"
    condition_matched_log {
      filter = local.scheduler_failures
      label_extractors = {
        job = "EXTRACT(resource.labels.job_id)"
      }
    }
  }

  documentation {
    content   = "A Cloud Scheduler job's call failed (see the job's logs for the status it got). The jobs call operator routes (POST /v1/loadtests/runs, POST /v1/sweeps) or publish a tick (the outbox relay). ${local.documentation}"
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = "3600s"
    notification_rate_limit {
      period = "1800s"
    }
  }
}

# Slack delivery is failing (the alerts function's circuit breaker opened after repeated
# failures): the Slack path cannot say so itself, so this notifies the e-mail channels only.
resource "google_monitoring_alert_policy" "alert_delivery" {
  count = length(var.alert_emails) > 0 ? 1 : 0

  project               = var.project_id
  display_name          = "${var.name}: Slack alert delivery failing"
  combiner              = "OR"
  notification_channels = local.email_channels

  conditions {
    display_name = "The alerts function's Slack circuit opened"
    condition_matched_log {
      filter = "${local.run_filter} AND jsonPayload.message=\"slack circuit opened\""
    }
  }

  documentation {
    content   = "Alerts are not reaching Slack: the alerts function stopped calling the webhook after repeated failures. Check the slack-webhook-url secret and Slack's status; GET /v1/alerts still lists every alert. ${local.documentation}"
    mime_type = "text/markdown"
  }

  alert_strategy {
    auto_close = "3600s"
    notification_rate_limit {
      period = "1800s"
    }
  }
}
