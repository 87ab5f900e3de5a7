# Dashboards (a row per function) and alert policies that notify the incidents topic.

module "monitoring" {
  source = "./modules/monitoring"

  project_id                = var.project_id
  name                      = "agent-platform ${var.environment}"
  services                  = [for name in sort(keys(local.functions)) : module.function[name].name]
  dead_letter_subscriptions = [for topic in module.topics : topic.dead_letter_subscription]
  incident_topic            = module.topics[module.runtime_config.incident_topic].topic
  monitoring_service_agent  = local.monitoring_service_agent
  alert_emails              = var.alert_emails
  dashboards_dir            = "${path.module}/dashboards"

  # User-facing functions only: an operators call (a load-test run) is long by design.
  latency_p95_ms = {
    for name, entry in local.http : name => lookup(
      var.latency_p95_ms,
      name,
      entry.scaling.timeoutSeconds >= 60 ? entry.scaling.timeoutSeconds * 100 : var.latency_p95_default_ms,
    ) if entry.access == "public"
  }

  depends_on = [google_project_service.api]
}
