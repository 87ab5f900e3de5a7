# Scheduled calls (the load test) into operators-only functions, signed with an OIDC token,
# and the outbox relay's tick. Method, path, headers and body come from
# modules/runtime_config, which `make rehearse` evaluates and fires once each.

resource "google_cloud_scheduler_job" "call" {
  for_each = module.runtime_config.scheduled_http_calls

  project          = var.project_id
  region           = local.region
  name             = "${local.prefix}-${each.key}"
  description      = "${each.value.method} ${each.value.path} on ${each.value.function}"
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = each.value.attempt_deadline

  retry_config {
    retry_count = 0 # a missed run is reported by the next one, not retried into a busy system
  }

  http_target {
    http_method = each.value.method
    uri         = "${module.function[each.value.function].uri}${each.value.path}"
    body        = base64encode(each.value.body)
    headers     = each.value.headers

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = module.function[each.value.function].uri
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_cloud_scheduler_job" "message" {
  for_each = module.runtime_config.scheduled_messages

  project     = var.project_id
  region      = local.region
  name        = "${local.prefix}-${each.key}"
  description = "Publish a tick on ${each.value.topic}"
  schedule    = each.value.schedule
  time_zone   = "Etc/UTC"

  retry_config {
    retry_count = 0 # the next tick is a minute away
  }

  pubsub_target {
    topic_name = "projects/${var.project_id}/topics/${module.topics[each.value.topic].topic}"
    data       = base64encode(each.value.data)
  }

  depends_on = [google_project_service.api]
}

# The outbox relay's job had a resource of its own before ticks came from the manifest;
# the same job, so an applied environment keeps it instead of recreating it.
moved {
  from = google_cloud_scheduler_job.outbox_relay[0]
  to   = google_cloud_scheduler_job.message["outbox-relay"]
}
