# The platform, driven by functions.yaml: every manifest entry becomes a Cloud Run
# function; topics, the load balancer's path map, the scheduler and the dashboards are
# derived from the same entries. environments/<env> call this module with their settings.

locals {
  manifest  = yamldecode(file("${path.module}/functions.yaml"))
  functions = { for entry in local.manifest.functions : entry.name => entry }
  http      = { for name, entry in local.functions : name => entry if try(entry.trigger.http, null) != null }

  region  = coalesce(var.region, local.manifest.defaults.region)
  runtime = local.manifest.defaults.runtime
  prefix  = "agents-${var.environment}"
  # The load balancer's URL (modules/load_balancer output `url`), known before it exists.
  api_url = "https://${var.domains[0]}"

  # Google's service agents, from resources that make sure they exist (below): every grant
  # to them waits for the agent instead of failing on a fresh project.
  pubsub_service_agent     = google_project_service_identity.pubsub.email
  monitoring_service_agent = google_project_service_identity.monitoring.email

  # Every API a resource here needs (tests/infra/test_terraform.py maps resource types to
  # APIs). Cloud Run functions (2nd gen) build with Cloud Build and store the image in
  # Artifact Registry: without artifactregistry the first build fails.
  # Project-wide roles of the build account: both have no narrower scope that exists before
  # the first build (Cloud Run functions create their gcf-artifacts repository then). The
  # function sources are read from one bucket: storage.objectAdmin on that bucket only
  # (google_storage_bucket_iam_member.build_sources), never on the project, whose buckets
  # include the Terraform state.
  build_roles = [
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
  ]

  # Operators-only functions that Cloud Scheduler calls: the scheduler's account may invoke
  # these and no other.
  scheduled_functions = toset([for call in values(module.runtime_config.scheduled_http_calls) : call.function])

  apis = toset([
    "artifactregistry.googleapis.com",
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
    "storage.googleapis.com",
  ])
}

# Environment variables, secrets, push subscriptions and scheduled calls, computed from the
# manifest without a provider: `make rehearse` evaluates this same module locally.
module "runtime_config" {
  source = "./modules/runtime_config"

  manifest        = local.manifest
  project_id      = var.project_id
  environment     = var.environment
  region          = local.region
  log_level       = var.log_level
  allowed_origins = var.allowed_origins
  api_url         = local.api_url
  scheduled_calls = var.scheduled_calls
  rate_limits     = var.rate_limits
}

resource "google_project_service" "api" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# A service agent is created some time after its API is enabled, or when something first
# needs it; granting a role to one that does not exist yet fails the first apply. These
# create the Pub/Sub agent (it signs push tokens, forwards dead letters) and the Monitoring
# notification agent (it publishes incidents to the topic) before any grant names them.
# Only the google-beta provider has this resource.
#
# No wait after enabling the APIs: hashicorp/time's time_sleep cannot be downloaded here,
# so everything that needs an API depends_on google_project_service.api (a test holds
# every resource and module to it), which waits for each enablement to finish. An API
# whose enablement has not propagated yet may still refuse one call on a brand-new
# project; a second apply then goes through (docs/deploy.md).
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.api]
}

resource "google_project_service_identity" "monitoring" {
  provider = google-beta

  project = var.project_id
  service = "monitoring.googleapis.com"

  depends_on = [google_project_service.api]
}

module "topics" {
  source   = "./modules/pubsub_topic"
  for_each = module.runtime_config.base_topics

  project_id           = var.project_id
  name                 = each.value
  pubsub_service_agent = local.pubsub_service_agent
  labels               = { environment = var.environment }

  depends_on = [google_project_service.api]
}

module "firestore" {
  source = "./modules/firestore"

  project_id           = var.project_id
  location_id          = coalesce(var.firestore_location, local.region)
  delete_protection    = var.delete_protection
  ttl_fields           = local.firestore_ttl_fields
  unindexed_ttl_fields = [for collection in keys(local.firestore_ttl_fields) : collection if !contains(local.firestore_ttl_fields_indexed, collection)]
  index_exemptions     = local.firestore_index_exemptions
  composite_indexes    = local.firestore_indexes

  backup_daily_retention_days   = var.backup_retention.daily_days
  backup_weekly_retention_weeks = var.backup_retention.weekly_weeks

  depends_on = [google_project_service.api]
}

# Pub/Sub signs its pushes to Pub/Sub entry points as this account.
resource "google_service_account" "pubsub_push" {
  project      = var.project_id
  account_id   = "pubsub-push"
  display_name = "Pub/Sub push to functions"
  description  = "Identity in the OIDC token of every push subscription; invoker of Pub/Sub entry points only."

  depends_on = [google_project_service.api]
}

# Cloud Build builds every function as this account. Projects created since mid-2024 may
# give Cloud Build a default account without the rights to build a function
# (https://cloud.google.com/functions/docs/securing/build-custom-sa), so the build account
# is ours, with the roles Google lists for a function's build account
# (https://cloud.google.com/run/docs/configuring/services/build-service-account):
# build logs, the image in Artifact Registry, the source zip in Cloud Storage.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "function-builder"
  display_name = "Cloud Run functions build"
  description  = "Identity of the Cloud Build runs that turn the function zips into images."

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "build" {
  for_each = toset(local.build_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

resource "google_storage_bucket_iam_member" "build_sources" {
  bucket = var.source_bucket
  role   = "roles/storage.objectAdmin"
  member = google_service_account.build.member
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
  description  = "Identity in the OIDC token of scheduled calls; invoker of the operators-only functions its jobs call."

  depends_on = [google_project_service.api]
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
  build_service_account = google_service_account.build.id
  labels                = { environment = var.environment }

  scaling = {
    min_instances   = var.scale_to_zero ? 0 : each.value.scaling.minInstances
    max_instances   = each.value.scaling.maxInstances
    concurrency     = each.value.scaling.concurrency
    cpu             = each.value.scaling.cpu
    memory          = each.value.scaling.memory
    timeout_seconds = each.value.scaling.timeoutSeconds
  }

  environment_variables = module.runtime_config.environment_variables[each.key]
  secrets               = module.runtime_config.secret_environment_variables[each.key]
  secret_versions       = var.secret_versions
  public_invoker        = var.public_invoker
  firestore_access      = length(try(each.value.firestore, [])) > 0
  publishes             = try(each.value.publishes, [])
  access                = each.value.access
  operator_invokers = merge(
    { operators = var.operators_group },
    contains(local.scheduled_functions, each.key) ? { scheduler = google_service_account.scheduler.member } : {},
  )

  pubsub_trigger = try(each.value.trigger.pubsub, null) == null ? null : merge(
    module.runtime_config.subscriptions[each.key],
    {
      push_service_account = google_service_account.pubsub_push.email
      pubsub_service_agent = local.pubsub_service_agent
    },
  )

  # Topics must exist before a function is granted publisher on them or subscribed, and
  # the build account needs its roles before the first build.
  depends_on = [module.topics, google_project_service.api, google_project_iam_member.build, google_storage_bucket_iam_member.build_sources]
}
