# The operator tools (platform_status, function_logs, restart_function, scale_function,
# rollback_function, what_changed: shared/platform_ops/google.py) read and act on the
# platform's own Cloud Run services. The functions that serve them (`operatorTools: true`
# in the manifest: ops, mcp) get exactly what those calls use, and nothing project-wide
# that can change anything:
# - a custom role on each function's Cloud Run service: run.services.get and
#   run.services.update (status, restart, scale, rollback) and run.revisions.list
#   (rollback, what_changed); roles/run.developer would add deleting services and
#   revisions (tests/infra/test_operator_tools.py derives the list from the calls the
#   adapter makes);
# - roles/iam.serviceAccountUser on each function's own service account: a restart or a
#   scale deploys a revision, which acts as the service's identity (actAs);
# - roles/logging.viewer and roles/monitoring.viewer on the project: log entries and time
#   series are read per project (there is no grant on one Cloud Run service's logs or
#   metrics; both roles only read).

locals {
  operator_tool_functions = sort([for name, entry in local.functions : name if try(entry.operatorTools, false)])
  operator_tool_grants = {
    for pair in setproduct(local.operator_tool_functions, sort(keys(local.functions))) :
    "${pair[0]}>${pair[1]}" => { operator = pair[0], target = pair[1] }
  }
}

resource "google_project_iam_custom_role" "function_operator" {
  project     = var.project_id
  role_id     = "agentPlatformFunctionOperator"
  title       = "Agent platform function operator"
  description = "What the operator tools call on a function's Cloud Run service: read it, list its revisions, update its template or traffic."
  permissions = [
    "run.revisions.list",
    "run.services.get",
    "run.services.update",
  ]

  depends_on = [google_project_service.api]
}

resource "google_cloud_run_service_iam_member" "function_operator" {
  for_each = local.operator_tool_grants

  project  = var.project_id
  location = local.region
  service  = module.function[each.value.target].name
  role     = google_project_iam_custom_role.function_operator.id
  member   = "serviceAccount:${module.function[each.value.operator].service_account_email}"

  depends_on = [google_project_service.api]
}

resource "google_service_account_iam_member" "function_operator_act_as" {
  for_each = local.operator_tool_grants

  service_account_id = "projects/${var.project_id}/serviceAccounts/${module.function[each.value.target].service_account_email}"
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${module.function[each.value.operator].service_account_email}"

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "function_operator_logs" {
  for_each = toset(local.operator_tool_functions)

  project = var.project_id
  role    = "roles/logging.viewer"
  member  = "serviceAccount:${module.function[each.value].service_account_email}"

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "function_operator_metrics" {
  for_each = toset(local.operator_tool_functions)

  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = "serviceAccount:${module.function[each.value].service_account_email}"

  depends_on = [google_project_service.api]
}
