# The public edge: one global external HTTPS load balancer, a serverless NEG and backend
# service per HTTP function, a URL map from the contract's path prefixes, and a Cloud
# Armor policy that rate-limits per client IP before a request reaches a function.

locals {
  # Google's preconfigured WAF rule sets (OWASP ModSecurity CRS 3.3), evaluated before the
  # rate limits: https://cloud.google.com/armor/docs/waf-rules. Sensitivity 1 keeps only
  # the highest-confidence signatures (https://cloud.google.com/armor/docs/rule-tuning):
  # chat messages and system prompts legitimately quote SQL, HTML and paths.
  # Rules that match request bodies (reads_body) see chat messages, system prompts and
  # webhook payloads that legitimately hold code, SQL and paths: they run in preview (log
  # only) unless var.waf_enforce_body_rules, so a chat about SQL is never a 403; the rules
  # on headers and the protocol block. JSON bodies are parsed field by field
  # (json_parsing below), which keeps keys and punctuation from matching.
  waf_rules = {
    sqli             = { priority = 200, description = "SQL injection", reads_body = true }
    xss              = { priority = 210, description = "Cross-site scripting", reads_body = true }
    lfi              = { priority = 220, description = "Local file inclusion", reads_body = true }
    rfi              = { priority = 230, description = "Remote file inclusion", reads_body = true }
    scannerdetection = { priority = 240, description = "Security scanners and crawlers", reads_body = false }
    protocolattack   = { priority = 250, description = "HTTP protocol attacks (request smuggling, header injection)", reads_body = false }
    sessionfixation  = { priority = 260, description = "Session fixation", reads_body = false }
  }

  # "/v1/agents" serves the collection itself and everything below it; "/" is the root
  # page alone, so unmatched paths still reach the default backend's JSON 404.
  path_rules = {
    for key, backend in var.backends : key => flatten([
      for prefix in backend.paths : prefix == "/" ? ["/"] : [prefix, "${prefix}/*"]
    ])
  }
}

resource "google_compute_global_address" "api" {
  project = var.project_id
  name    = "${var.name}-api"
}

resource "google_compute_region_network_endpoint_group" "function" {
  for_each = var.backends

  project               = var.project_id
  region                = var.region
  name                  = "${var.name}-${each.key}"
  network_endpoint_type = "SERVERLESS"

  cloud_function {
    function = each.value.function
  }
}

resource "google_compute_backend_service" "function" {
  for_each = var.backends

  project               = var.project_id
  name                  = "${var.name}-${each.key}"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.edge.id

  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = var.log_sample_rate
  }
}

resource "google_compute_url_map" "api" {
  project         = var.project_id
  name            = "${var.name}-api"
  default_service = google_compute_backend_service.function[var.default_backend].id

  host_rule {
    hosts        = ["*"]
    path_matcher = "contract"
  }

  path_matcher {
    name            = "contract"
    default_service = google_compute_backend_service.function[var.default_backend].id

    dynamic "path_rule" {
      for_each = local.path_rules
      content {
        paths   = path_rule.value
        service = google_compute_backend_service.function[path_rule.key].id
      }
    }
  }
}

# The name carries a hash of the domains: changing `domains` creates a certificate under a
# new name before the old one is destroyed (create_before_destroy), where a fixed name
# would fail with "already exists".
resource "google_compute_managed_ssl_certificate" "api" {
  project = var.project_id
  name    = "${var.name}-api-${substr(sha256(join(",", sort(var.domains))), 0, 8)}"

  managed {
    domains = var.domains
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "modern" {
  project         = var.project_id
  name            = "${var.name}-modern-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "api" {
  project          = var.project_id
  name             = "${var.name}-api"
  url_map          = google_compute_url_map.api.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
  ssl_policy       = google_compute_ssl_policy.modern.id
}

# The API and the console are served over HTTPS only; port 80 answers with a redirect.
resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  target                = google_compute_target_https_proxy.api.id
  ip_address            = google_compute_global_address.api.id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

# People type the console's address without a scheme: port 80 only redirects to HTTPS.
resource "google_compute_url_map" "https_redirect" {
  project = var.project_id
  name    = "${var.name}-https-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "https_redirect" {
  project = var.project_id
  name    = "${var.name}-https-redirect"
  url_map = google_compute_url_map.https_redirect.id
}

resource "google_compute_global_forwarding_rule" "http_redirect" {
  project               = var.project_id
  name                  = "${var.name}-http"
  target                = google_compute_target_http_proxy.https_redirect.id
  ip_address            = google_compute_global_address.api.id
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

resource "google_compute_security_policy" "edge" {
  project     = var.project_id
  name        = "${var.name}-edge"
  description = "Per-client-IP rate limits in front of every function; stricter for session creation and chat."
  type        = "CLOUD_ARMOR"

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable = true
    }
  }

  advanced_options_config {
    json_parsing = "STANDARD"
  }

  rule {
    description = "Block Log4Shell probes (CVE-2021-44228) before they reach anything."
    action      = "deny(403)"
    priority    = 100
    preview     = false
    match {
      expr {
        expression = "evaluatePreconfiguredExpr('cve-canary')"
      }
    }
  }

  dynamic "rule" {
    for_each = local.waf_rules
    content {
      description = "OWASP CRS: ${rule.value.description} (${rule.key}-v33-stable)."
      action      = "deny(403)"
      priority    = rule.value.priority
      preview     = var.waf_preview || (rule.value.reads_body && !var.waf_enforce_body_rules)
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.key}-v33-stable', {'sensitivity': ${var.waf_sensitivity}})"
        }
      }
    }
  }

  rule {
    description = "Guest-session creation: each one is a Firestore write and a new identity."
    action      = "throttle"
    priority    = 1000
    match {
      expr {
        expression = "request.method == 'POST' && request.path == '/v1/sessions'"
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.rate_limits.session_create_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    description = "Conversation and message creation: each message can spend model tokens."
    action      = "throttle"
    priority    = 1100
    match {
      expr {
        expression = "request.method == 'POST' && request.path.startsWith('/v1/conversations')"
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.rate_limits.chat_post_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    description = "Everything else: a generous per-IP ceiling; sustained abuse is banned for a while."
    action      = "rate_based_ban"
    priority    = 2000
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = var.rate_limits.ban_seconds
      rate_limit_threshold {
        count        = var.rate_limits.general_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    description = "Default: allow (the functions authenticate)."
    action      = "allow"
    priority    = 2147483647
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}
