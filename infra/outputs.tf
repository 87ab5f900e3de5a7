output "api_url" {
  description = "Base URL of the API (the load balancer); the smoke test calls it."
  value       = module.load_balancer.url
}

output "api_ip" {
  description = "Address the API domains' DNS A records must point at."
  value       = module.load_balancer.ip_address
}

output "function_urls" {
  description = "Each function's own Cloud Run URL (reachable from inside Google Cloud only)."
  value       = { for name, function in module.function : name => function.uri }
}

output "service_accounts" {
  description = "Each function's runtime service account."
  value       = { for name, function in module.function : name => function.service_account_email }
}

output "dashboards" {
  description = "Cloud Monitoring dashboard ids."
  value       = module.monitoring.dashboards
}

output "certificate" {
  description = "The managed certificate's name; the smoke test reads its status."
  value       = module.load_balancer.certificate
}

output "region" {
  description = "Region of the functions."
  value       = local.region
}

output "invoker_check_off" {
  description = "Public functions whose invoker IAM check Cloud Build turns off (public_invoker = none); empty with allUsers grants."
  value       = var.public_invoker == "none" ? sort([for name, entry in local.http : module.function[name].name if entry.access == "public"]) : []
}
