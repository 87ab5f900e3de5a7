output "ip_address" {
  description = "Address the domains' DNS A records must point at."
  value       = google_compute_global_address.api.address
}

output "url" {
  description = "Base URL of the API behind the load balancer."
  value       = "https://${var.domains[0]}"
}

output "security_policy" {
  description = "Cloud Armor policy id."
  value       = google_compute_security_policy.edge.id
}

output "certificate" {
  description = "Name of the Google-managed certificate (ACTIVE once the domains' DNS points at ip_address)."
  value       = google_compute_managed_ssl_certificate.api.name
}
