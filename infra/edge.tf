# The external HTTPS load balancer in front of every HTTP entry point, with Cloud Armor.

locals {
  # Unmatched paths go to the sessions function; its router answers them with a JSON 404.
  default_backend = try(
    [for name, entry in local.http : name if contains(entry.trigger.http.paths, "/v1/sessions")][0],
    sort(keys(local.http))[0],
  )
}

module "load_balancer" {
  source = "./modules/load_balancer"

  project_id      = var.project_id
  region          = local.region
  name            = local.prefix
  domains         = var.domains
  default_backend = local.default_backend
  rate_limits     = var.rate_limits
  backends = {
    for name, entry in local.http : name => {
      function = module.function[name].name
      paths    = entry.trigger.http.paths
    }
  }

  depends_on = [google_project_service.api]
}
