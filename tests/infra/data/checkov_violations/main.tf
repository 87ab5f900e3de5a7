# Deliberate violations of the custom policies in infra/checkov/: the checkov test
# scans this folder and expects each policy to fail here. Never applied.

resource "google_cloudfunctions2_function" "open_ingress" {
  name     = "open-ingress"
  location = "europe-west1"

  service_config {
    ingress_settings = "ALLOW_ALL"
  }
}

resource "google_cloud_run_service_iam_member" "public_operator_function" {
  location = "europe-west1"
  service  = "alerts"
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_binding" "public_binding" {
  location = "europe-west1"
  service  = "loadtest"
  role     = "roles/run.invoker"
  members  = ["group:ops@example.com", "allAuthenticatedUsers"]
}

resource "google_pubsub_subscription" "push_without_retry" {
  name  = "alerts-deploys"
  topic = "deploy-events"

  push_config {
    push_endpoint = "https://alerts.example.run.app/"
  }
}

resource "google_cloud_scheduler_job" "anonymous_call" {
  name     = "loadtest"
  schedule = "*/30 * * * *"

  http_target {
    http_method = "POST"
    uri         = "https://loadtest.example.run.app/v1/loadtests/runs"
  }
}
