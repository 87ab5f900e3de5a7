# The platform, driven by functions.yaml: every manifest entry becomes a Cloud Run
# function; topics, the load balancer's path map, the scheduler and the dashboards are
# derived from the same entries. environments/<env> call this module with their settings.

locals {
  manifest  = yamldecode(file("${path.module}/functions.yaml"))
  functions = { for entry in local.manifest.functions : entry.name => entry }
  http      = { for name, entry in local.functions : name => entry if try(entry.trigger.http, null) != null }
  pubsub    = { for name, entry in local.functions : name => entry if try(entry.trigger.pubsub, null) != null }

  region  = coalesce(var.region, local.manifest.defaults.region)
  runtime = local.manifest.defaults.runtime
  prefix  = "agents-${var.environment}"

  # Every topic something publishes to or listens on. A "<topic>-dead-letter" topic is
  # created by its base topic's module, so only base topics get a module of their own.
  incident_topic = "monitoring-incidents"
  referenced_topics = concat(
    flatten([for entry in local.manifest.functions : try(entry.publishes, [])]),
    [for entry in values(local.pubsub) : entry.trigger.pubsub.topic],
    [local.incident_topic],
  )
  base_topics = toset([for topic in local.referenced_topics : trimsuffix(topic, "-dead-letter")])

  pubsub_service_agent     = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  monitoring_service_agent = "service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"

  common_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    ENVIRONMENT          = var.environment == "prod" ? "production" : "staging"
    LOG_LEVEL            = var.log_level
    ALLOWED_ORIGINS      = join(",", var.allowed_origins)
    # Google's load balancer appends the client and its own hop to X-Forwarded-For.
    FORWARDED_CLIENT_HOP = "2"
    # Cloud Run already logs every request with its httpRequest; a second line per
    # request would cost CPU and log volume for nothing.
    ACCESS_LOG = "false"
    # One source for the per-address throttles: Cloud Armor (modules/load_balancer) and
    # the functions' own Firestore-backed bounds get the same numbers.
    SESSION_CREATE_PER_MINUTE            = tostring(var.rate_limits.session_create_per_minute)
    CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE = tostring(var.rate_limits.chat_post_per_minute)
  }
  # Only functions without a public invoker may trust Cloud Run IAM for operator routes.
  access_env = {
    public    = {}
    operators = { OPERATOR_AUTH = "iam" }
    pubsub    = {}
  }

  apis = toset([
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
  ])
}

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_project_service" "api" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

module "topics" {
  source   = "./modules/pubsub_topic"
  for_each = local.base_topics

  project_id           = var.project_id
  name                 = each.value
  pubsub_service_agent = local.pubsub_service_agent
  labels               = { environment = var.environment }

  depends_on = [google_project_service.api]
}

module "firestore" {
  source = "./modules/firestore"

  project_id        = var.project_id
  location_id       = coalesce(var.firestore_location, local.region)
  delete_protection = var.delete_protection
  ttl_fields        = local.firestore_ttl_fields
  composite_indexes = local.firestore_indexes

  depends_on = [google_project_service.api]
}

# Pub/Sub signs its pushes to Pub/Sub entry points as this account.
resource "google_service_account" "pubsub_push" {
  project      = var.project_id
  account_id   = "pubsub-push"
  display_name = "Pub/Sub push to functions"
  description  = "Identity in the OIDC token of every push subscription; invoker of Pub/Sub entry points only."
}

# Projects created before April 2021 need this for Pub/Sub to mint the push tokens.
resource "google_service_account_iam_member" "pubsub_push_token_creator" {
  service_account_id = google_service_account.pubsub_push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"
}

# Cloud Scheduler calls operators-only functions as this account.
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "scheduler-invoker"
  display_name = "Cloud Scheduler caller"
  description  = "Identity in the OIDC token of scheduled calls; invoker of operators-only functions."
}

module "function" {
  source   = "./modules/function"
  for_each = local.functions

  project_id            = var.project_id
  region                = local.region
  name                  = each.key
  description           = "${each.value.source}:${each.value.entryPoint}"
  runtime               = local.runtime
  entry_point           = each.value.entryPoint
  source_bucket         = var.source_bucket
  source_object         = "${var.source_prefix}/${each.key}.zip"
  build_service_account = var.build_service_account
  labels                = { environment = var.environment }

  scaling = {
    min_instances   = var.scale_to_zero ? 0 : each.value.scaling.minInstances
    max_instances   = each.value.scaling.maxInstances
    concurrency     = each.value.scaling.concurrency
    cpu             = each.value.scaling.cpu
    memory          = each.value.scaling.memory
    timeout_seconds = each.value.scaling.timeoutSeconds
  }

  environment_variables = merge(local.common_env, local.access_env[each.value.access], try(each.value.env, {}))
  secrets               = try(each.value.secrets, [])
  firestore_access      = length(try(each.value.firestore, [])) > 0
  publishes             = try(each.value.publishes, [])
  access                = each.value.access
  operator_invokers = {
    operators = var.operators_group
    scheduler = google_service_account.scheduler.member
  }

  pubsub_trigger = try(each.value.trigger.pubsub, null) == null ? null : {
    topic                = each.value.trigger.pubsub.topic
    dead_letter_topic    = endswith(each.value.trigger.pubsub.topic, "-dead-letter") ? null : "${each.value.trigger.pubsub.topic}-dead-letter"
    push_service_account = google_service_account.pubsub_push.email
    pubsub_service_agent = local.pubsub_service_agent
  }

  # Topics must exist before a function is granted publisher on them or subscribed.
  depends_on = [module.topics, google_project_service.api]
}
