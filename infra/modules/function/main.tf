# One manifest entry point: a Cloud Run function (2nd gen, built from the zip that
# `make package` made), its own service account with only the roles it needs, who may
# invoke it, and for Pub/Sub entry points the push subscription that triggers it.

locals {
  # Service account ids are 6-30 characters; long entry names keep a readable prefix
  # and a hash suffix so two long names never collide.
  account_id = length(var.name) <= 27 ? "fn-${var.name}" : "fn-${substr(var.name, 0, 19)}-${substr(sha1(var.name), 0, 7)}"

  # Nothing is reachable from the internet except through the load balancer (and its
  # Cloud Armor policy); Pub/Sub pushes and Cloud Scheduler calls count as internal.
  ingress = var.access == "pubsub" ? "ALLOW_INTERNAL_ONLY" : "ALLOW_INTERNAL_AND_GCLB"

  secret_ids = toset([for secret in var.secrets : secret.secret])
}

resource "google_service_account" "function" {
  project      = var.project_id
  account_id   = local.account_id
  display_name = "Cloud Run function ${var.name}"
  description  = "Runtime identity of ${var.name}; holds only the roles its manifest entry asks for."
}

resource "google_project_iam_member" "firestore_user" {
  count = var.firestore_access ? 1 : 0

  # Firestore IAM stops at the database: there is no per-collection role.
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function.member
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = local.secret_ids

  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function.member
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = toset(var.publishes)

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function.member
}

resource "google_cloudfunctions2_function" "function" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description
  labels      = var.labels

  build_config {
    runtime         = var.runtime
    entry_point     = var.entry_point
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    min_instance_count               = var.scaling.min_instances
    max_instance_count               = var.scaling.max_instances
    max_instance_request_concurrency = var.scaling.concurrency
    available_cpu                    = var.scaling.cpu
    available_memory                 = var.scaling.memory
    timeout_seconds                  = var.scaling.timeout_seconds
    ingress_settings                 = local.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function.email
    environment_variables            = var.environment_variables

    dynamic "secret_environment_variables" {
      for_each = var.secrets
      content {
        key        = secret_environment_variables.value.env
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        # A pinned version: a rotation is a reviewed change that rolls a new revision, and
        # a revision never starts on a version nobody has tested (or that does not exist).
        version = var.secret_versions[secret_environment_variables.value.secret]
      }
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for secret in var.secrets : can(regex("^[0-9]+$", lookup(var.secret_versions, secret.secret, "")))])
      error_message = "Pin every secret ${var.name} reads to a version number in secret_versions (not latest): ${join(", ", [for secret in var.secrets : secret.secret])}."
    }
  }

  # A secret accessor grant must exist before the revision that reads it starts.
  depends_on = [google_secret_manager_secret_iam_member.accessor]
}

# The function answers requests from anyone that gets past the load balancer and Cloud
# Armor; it authenticates callers itself with guest-session bearer tokens.
# Under the domain-restricted-sharing organisation policy (iam.allowedPolicyMemberDomains)
# an allUsers grant is refused: with public_invoker = "none" there is none, and Cloud Build
# turns the service's invoker IAM check off instead (the google provider cannot set
# invoker_iam_disabled on a Cloud Run function; cloudbuild.yaml, docs/deploy.md).
resource "google_cloud_run_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:Public by design for access = public only: ingress is load-balancer-only and the code checks bearer tokens.
  #checkov:skip=CKV2_AGENTS_1:The one allowed public grant (infra/checkov/policies/no_public_invoker.yaml); count-gated on access == "public".
  count = var.access == "public" && var.public_invoker == "allUsers" ? 1 : 0

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "operator" {
  for_each = var.access == "operators" ? var.operator_invokers : {}

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_cloud_run_service_iam_member" "pubsub_pusher" {
  count = var.access == "pubsub" ? 1 : 0

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.pubsub_trigger.push_service_account}"
}

# The event trigger. We own the subscription instead of using an Eventarc trigger
# because Eventarc's managed subscription cannot be given a dead-letter policy here.
resource "google_pubsub_subscription" "trigger" {
  count = var.pubsub_trigger == null ? 0 : 1

  project = var.project_id
  name    = var.name
  topic   = var.pubsub_trigger.topic
  labels  = var.labels

  ack_deadline_seconds       = var.pubsub_trigger.ack_deadline_seconds
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function.service_config[0].uri}${var.pubsub_trigger.push_path}"

    oidc_token {
      service_account_email = var.pubsub_trigger.push_service_account
      audience              = google_cloudfunctions2_function.function.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = var.pubsub_trigger.minimum_backoff
    maximum_backoff = var.pubsub_trigger.maximum_backoff
  }

  dynamic "dead_letter_policy" {
    for_each = var.pubsub_trigger.dead_letter_topic == null ? [] : [var.pubsub_trigger.dead_letter_topic]
    content {
      dead_letter_topic     = "projects/${var.project_id}/topics/${dead_letter_policy.value}"
      max_delivery_attempts = var.pubsub_trigger.max_delivery_attempts
    }
  }

  expiration_policy {
    ttl = "" # never expire, even after a quiet month
  }

  depends_on = [google_cloud_run_service_iam_member.pubsub_pusher]
}

# Pub/Sub's service agent must be able to ack a message it moves to the dead-letter topic.
resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  count = try(var.pubsub_trigger.dead_letter_topic, null) == null ? 0 : 1

  project      = var.project_id
  subscription = google_pubsub_subscription.trigger[0].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_trigger.pubsub_service_agent}"
}
