# Scheduled calls (the load test) into operators-only functions, signed with an OIDC token.

locals {
  # Each job goes to the HTTP function whose manifest prefix serves its path; a job whose
  # function is not in the manifest (yet) is left out rather than pointed nowhere.
  scheduled_targets = {
    for key, job in var.scheduled_calls : key => [
      for name, entry in local.http : name
      if anytrue([for prefix in entry.trigger.http.paths : job.path == prefix || startswith(job.path, "${prefix}/")])
    ]
  }
  scheduled = {
    for key, job in var.scheduled_calls : key => merge(job, { function = local.scheduled_targets[key][0] })
    if length(local.scheduled_targets[key]) > 0
  }
}

resource "google_cloud_scheduler_job" "call" {
  for_each = local.scheduled

  project          = var.project_id
  region           = local.region
  name             = "${local.prefix}-${each.key}"
  description      = "POST ${each.value.path} on ${each.value.function}"
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${max(15, min(1800, local.functions[each.value.function].scaling.timeoutSeconds))}s"

  retry_config {
    retry_count = 0 # a missed run is reported by the next one, not retried into a busy system
  }

  http_target {
    http_method = "POST"
    uri         = "${module.function[each.value.function].uri}${each.value.path}"
    body        = base64encode(each.value.body)
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = module.function[each.value.function].uri
    }
  }

  depends_on = [google_project_service.api]
}

# The outbox relay (shared/messaging/outbox.py): a tick every minute on its topic, which a manifest
# entry listens on. Left out when no entry does.
resource "google_cloud_scheduler_job" "outbox_relay" {
  count = contains(local.base_topics, "outbox-relay") ? 1 : 0

  project     = var.project_id
  region      = local.region
  name        = "${local.prefix}-outbox-relay"
  description = "Publish events the producers staged but could not publish"
  schedule    = "* * * * *"
  time_zone   = "Etc/UTC"

  retry_config {
    retry_count = 0 # the next tick is a minute away
  }

  pubsub_target {
    topic_name = "projects/${var.project_id}/topics/${module.topics["outbox-relay"].topic}"
    data       = base64encode("{}")
  }

  depends_on = [google_project_service.api]
}
