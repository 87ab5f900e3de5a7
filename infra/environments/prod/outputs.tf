output "api_url" {
  description = "Base URL of the API; the Cloud Build smoke test calls it."
  value       = module.platform.api_url
}

output "api_ip" {
  description = "Address for the domains' DNS A records."
  value       = module.platform.api_ip
}

output "function_urls" {
  description = "Each function's Cloud Run URL."
  value       = module.platform.function_urls
}

output "dashboards" {
  description = "Cloud Monitoring dashboard ids."
  value       = module.platform.dashboards
}

output "certificate" {
  description = "The managed certificate's name; the smoke test reads its status."
  value       = module.platform.certificate
}

output "region" {
  description = "Region of the functions."
  value       = module.platform.region
}

output "invoker_check_off" {
  description = "Public functions whose invoker IAM check Cloud Build turns off."
  value       = module.platform.invoker_check_off
}
