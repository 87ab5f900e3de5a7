"""The first deploy's certain defects and known risks stay fixed (issue 26): each test names
what a first `terraform apply` or Cloud Build run would otherwise hit."""

from __future__ import annotations

import re
from typing import Any

import yaml

from infra.manifest import ROOT, load
from tests.infra.terraform_hcl import (
    INFRA,
    dynamic_blocks,
    local,
    module_call,
    one,
    resource,
    tf_files,
    variables,
)

LOAD_BALANCER = INFRA / "modules" / "load_balancer"
FUNCTION = INFRA / "modules" / "function"
DEPLOY = (ROOT / "docs" / "deploy.md").read_text()
BUILD: dict[str, Any] = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())


def build_step(step_id: str) -> dict[str, Any]:
    return next(s for s in BUILD["steps"] if s["id"] == step_id)


def build_script(step_id: str) -> str:
    return " ".join(str(arg) for arg in build_step(step_id).get("args", []))


# --- certain defects ------------------------------------------------------------------------


def test_a_new_certificate_gets_a_new_name_before_the_old_one_goes() -> None:
    certificate = resource(LOAD_BALANCER, "google_compute_managed_ssl_certificate", "api")

    assert one(one(certificate["lifecycle"])["create_before_destroy"]) is True
    assert 'sha256(join(",", sort(var.domains)))' in one(certificate["name"])


def test_the_bootstrap_enables_secret_manager_before_creating_a_secret() -> None:
    enable = DEPLOY.index("\ngcloud services enable")  # the commands, not the prose
    create = DEPLOY.index("| gcloud secrets create")

    assert "secretmanager.googleapis.com" in DEPLOY[enable:create]
    assert enable < create


def test_the_bootstrap_creates_every_secret_with_a_first_version() -> None:
    secrets = {secret.secret for entry in load().functions for secret in entry.secrets}
    created = dict(re.findall(r"gcloud secrets create ([\w-]+)([^\n]*\n?[^\n]*)", DEPLOY))

    assert set(created) == secrets
    assert all("--data-file=-" in flags for flags in created.values())


def test_secrets_are_read_at_a_pinned_version_never_latest() -> None:
    function = resource(FUNCTION, "google_cloudfunctions2_function", "function")
    service = one(function["service_config"])
    secret = one(dynamic_blocks(service)["secret_environment_variables"])
    version = one(one(secret["content"])["version"])
    precondition = one(one(function["lifecycle"])["precondition"])
    texts = "\n".join(path.read_text() for path in tf_files())

    assert version == "${var.secret_versions[secret_environment_variables.value.secret]}"
    assert "^[0-9]+$" in one(precondition["condition"])
    assert '"latest"' not in texts
    assert "^[0-9]+$" in str(variables(INFRA)["secret_versions"]["validation"])
    for environment in ("staging", "prod"):
        call = module_call(INFRA / "environments" / environment, "platform")
        assert one(call["secret_versions"]) == "${var.secret_versions}"
    assert "TF_VAR_secret_versions=${_SECRET_VERSIONS}" in BUILD["options"]["env"]


# --- risks ----------------------------------------------------------------------------------


def test_service_agents_exist_before_any_role_names_them() -> None:
    for name, service in (
        ("pubsub", "pubsub.googleapis.com"),
        ("monitoring", "monitoring.googleapis.com"),
    ):
        identity = resource(INFRA, "google_project_service_identity", name)
        assert one(identity["provider"]) == "${google-beta}"
        assert one(identity["service"]) == service
        assert "google_project_service.api" in str(identity["depends_on"])
    assert local(INFRA, "pubsub_service_agent") == "${google_project_service_identity.pubsub.email}"
    assert local(INFRA, "monitoring_service_agent") == (
        "${google_project_service_identity.monitoring.email}"
    )
    assert "gcp-sa-pubsub" not in (INFRA / "main.tf").read_text()


def test_every_root_declares_the_beta_provider_it_uses() -> None:
    for folder in (INFRA, INFRA / "environments" / "staging", INFRA / "environments" / "prod"):
        versions = (folder / "versions.tf").read_text()
        assert 'source  = "hashicorp/google-beta"' in versions, folder
    for environment in ("staging", "prod"):
        main = (INFRA / "environments" / environment / "main.tf").read_text()
        assert 'provider "google-beta"' in main


def test_public_functions_can_do_without_an_all_users_grant() -> None:
    public = resource(FUNCTION, "google_cloud_run_service_iam_member", "public")
    check = build_script("invoker-check")
    ids = [s["id"] for s in BUILD["steps"]]

    assert 'var.public_invoker=="allUsers"' in one(public["count"]).replace(" ", "")
    assert one(module_call(INFRA, "function")["public_invoker"]) == "${var.public_invoker}"
    assert "--no-invoker-iam-check" in check and "invoker_check_off.json" in check
    assert ids.index("api-url") < ids.index("invoker-check") < ids.index("smoke-test")
    assert "output -json invoker_check_off" in build_script("api-url")


def test_plan_and_apply_wait_for_the_state_lock() -> None:
    for step_id in ("terraform-plan", "terraform-apply"):
        assert "-lock-timeout=10m" in build_step(step_id)["args"], step_id


def test_the_trigger_must_name_its_domain_operators_and_secret_versions() -> None:
    substitutions = BUILD["substitutions"]
    check = build_script("substitutions")

    assert substitutions["_DOMAIN"] == "" and substitutions["_OPERATORS_GROUP"] == ""
    assert substitutions["_SECRET_VERSIONS"] == "{}"
    assert BUILD["steps"][0]["id"] == "substitutions"
    for name in ("_DOMAIN", "_OPERATORS_GROUP", "_SECRET_VERSIONS"):
        assert "${" + name + "}" in check


def test_waf_rules_that_read_bodies_only_log_until_enforced() -> None:
    policy = resource(LOAD_BALANCER, "google_compute_security_policy", "edge")
    waf = local(LOAD_BALANCER, "waf_rules")
    content = one(one(dynamic_blocks(policy)["rule"])["content"])
    enforce = variables(LOAD_BALANCER)["waf_enforce_body_rules"]

    assert {name for name, rule in waf.items() if rule["reads_body"]} == {
        "sqli",
        "xss",
        "lfi",
        "rfi",
    }
    # python-hcl2 drops the parentheses: preview || (reads_body && !enforce).
    assert one(content["preview"]).replace(" ", "").replace("(", "").replace(")", "") == (
        "${var.waf_preview||rule.value.reads_body&&!var.waf_enforce_body_rules}"
    )
    assert (
        "(rule.value.reads_body && !var.waf_enforce_body_rules)"
        in (LOAD_BALANCER / "main.tf").read_text()
    )
    assert one(enforce["default"]) is False
    assert one(one(policy["advanced_options_config"])["json_parsing"]) == "STANDARD"
