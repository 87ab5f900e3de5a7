# What each function runs with, computed from the manifest in one place: environment
# variables, secrets, server threads, push subscriptions and scheduled calls. The root
# module deploys these values; `make rehearse` evaluates this same module with the same
# Terraform binary and runs the packaged functions with its outputs, so a value missing
# here is missing in the rehearsal too.

locals {
  entries = { for entry in var.manifest.functions : entry.name => entry }
  http    = { for name, entry in local.entries : name => entry if try(entry.trigger.http, null) != null }
  pubsub  = { for name, entry in local.entries : name => entry if try(entry.trigger.pubsub, null) != null }

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
    CHAT_TOKEN_BUDGET_SHARDS             = tostring(local.token_budget_shards)
  }

  # The deployment's daily token meter is spread over shard documents (shared/limits/
  # spend.py). Every model run writes its shard twice (reserve, settle) and holds its slot
  # about var.model_run_seconds, so at the manifest's peak the meter takes
  # model slots / run seconds x 2 writes a second: one shard per write a second keeps each
  # shard within Firestore's ~1 write/s a document. Raising a maxInstances raises the
  # shards with it (tools/capacity.py computes the same; docs/capacity.md). HTTP entries
  # are the load; a Pub/Sub entry with the key continues runs they admitted.
  model_slots = sum(concat([0], [
    for entry in values(local.http) : entry.scaling.maxInstances * entry.scaling.concurrency
    if contains([for secret in try(entry.secrets, []) : secret.secret], var.model_secret)
  ]))
  token_budget_shards = max(1, ceil(local.model_slots / var.model_run_seconds * 2))

  # Only functions without a public invoker may trust Cloud Run IAM for operator routes.
  access_env = {
    public    = {}
    operators = { OPERATOR_AUTH = "iam" }
    pubsub    = {}
  }

  # functions-framework serves with gunicorn: one worker with THREADS threads (default 4
  # per CPU). Cloud Run sends an instance up to `concurrency` requests at once and each
  # holds a thread (an SSE answer for its whole length), so THREADS = concurrency, as
  # `make run` and `make bench` run them (infra/manifest.py Entry.server_env).
  server_env = {
    for name, entry in local.entries : name => {
      THREADS                   = tostring(entry.scaling.concurrency)
      CLOUD_RUN_TIMEOUT_SECONDS = tostring(entry.scaling.timeoutSeconds)
    }
  }

  # Settings only a deployment knows, by manifest entry.
  deployment_env = {
    loadtest = {
      # The scheduled run loads the public API, through the load balancer and Cloud Armor,
      # and may target nothing else.
      LOADTEST_TARGET_BASE_URL = var.api_url
      LOADTEST_ALLOWED_TARGETS = var.api_url
    }
  }

  # The functions that serve the operator tools (`operatorTools: true`,
  # shared/platform_ops): Google's APIs, the region of the Cloud Run services, and every
  # function's manifest bounds (the same JSON `make run` writes: infra/manifest.py).
  operator_tools_env = {
    PLATFORM_ADAPTER = "google"
    PLATFORM_REGION  = coalesce(var.region, var.manifest.defaults.region)
    PLATFORM_FUNCTIONS = jsonencode({
      for name, entry in local.entries : name => {
        minInstances = entry.scaling.minInstances
        maxInstances = entry.scaling.maxInstances
      }
    })
  }

  environment_variables = {
    for name, entry in local.entries : name => merge(
      local.common_env,
      local.access_env[entry.access],
      local.server_env[name],
      lookup(local.deployment_env, name, {}),
      try(entry.operatorTools, false) ? local.operator_tools_env : {},
      try(entry.env, {}),
    )
  }

  # Every topic something publishes to or listens on. A "<topic>-dead-letter" topic is
  # created with its base topic, so only base topics are listed here.
  incident_topic = "monitoring-incidents"
  referenced_topics = concat(
    flatten([for entry in var.manifest.functions : try(entry.publishes, [])]),
    [for entry in values(local.pubsub) : entry.trigger.pubsub.topic],
    [local.incident_topic],
  )
  base_topics = toset([for topic in local.referenced_topics : trimsuffix(topic, "-dead-letter")])

  subscriptions = {
    for name, entry in local.pubsub : name => {
      topic = entry.trigger.pubsub.topic
      # A subscription on a dead-letter topic retries without a dead-letter topic of its own.
      dead_letter_topic = endswith(entry.trigger.pubsub.topic, "-dead-letter") ? null : "${entry.trigger.pubsub.topic}-dead-letter"
      # functions-framework fills the CloudEvent source from this path.
      push_path = "/projects/${var.project_id}/topics/${entry.trigger.pubsub.topic}"
      # Pub/Sub waits this long for the push to answer before it counts a failure.
      ack_deadline_seconds  = min(600, max(10, entry.scaling.timeoutSeconds))
      max_delivery_attempts = var.push_retry.max_delivery_attempts
      minimum_backoff       = var.push_retry.minimum_backoff
      maximum_backoff       = var.push_retry.maximum_backoff
    }
  }

  # Each scheduled call goes to the HTTP function whose manifest prefix serves its path; a
  # call whose function is not in the manifest (yet) is left out rather than pointed nowhere.
  scheduled_targets = {
    for key, job in var.scheduled_calls : key => [
      for name, entry in local.http : name
      if anytrue([for prefix in entry.trigger.http.paths : job.path == prefix || startswith(job.path, "${prefix}/")])
    ]
  }
  scheduled_http_calls = {
    for key, job in var.scheduled_calls : key => {
      function         = local.scheduled_targets[key][0]
      method           = job.method
      path             = job.path
      body             = job.body
      schedule         = job.schedule
      headers          = { "Content-Type" = "application/json" }
      attempt_deadline = "${max(15, min(1800, local.entries[local.scheduled_targets[key][0]].scaling.timeoutSeconds))}s"
    }
    if length(local.scheduled_targets[key]) > 0
  }

  # The outbox relay: a tick every minute on its topic (see shared outbox), when an entry
  # listens on it.
  scheduled_messages = {
    for topic in [var.outbox_relay_topic] : topic => {
      topic    = topic
      data     = "{}"
      schedule = "* * * * *"
    } if contains(local.base_topics, topic)
  }
}
