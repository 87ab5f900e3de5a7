"""The operator tools in a deployment: the functions that serve them get the Google adapter,
the region and the manifest's bounds (the same JSON `make run` gives them), and exactly the
IAM those calls use (infra/operator_tools.tf)."""

from __future__ import annotations

import re

from infra.manifest import ROOT
from tests.infra.terraform_hcl import INFRA, local, one, resource
from tests.infra.test_terraform import MANIFEST, RUNTIME

ADAPTER = ROOT / "shared" / "platform_ops" / "google.py"
# Each Cloud Run Admin API call of the adapter and the permission it needs.
PERMISSION_OF_CALL = {
    "get_service": "run.services.get",
    "update_service": "run.services.update",
    "list_revisions": "run.revisions.list",
    "get_revision": "run.revisions.get",
    "list_services": "run.services.list",
    "delete_service": "run.services.delete",
}
OPERATORS = sorted(entry.name for entry in MANIFEST.functions if entry.operator_tools)


def test_the_operator_tools_are_served_by_ops_and_mcp() -> None:
    assert OPERATORS == ["mcp", "ops"]


def test_those_functions_run_with_the_google_adapter_the_region_and_the_manifest_bounds() -> None:
    for entry in MANIFEST.functions:
        env = RUNTIME.environment_variables[entry.name]
        platform = {k: v for k, v in env.items() if k.startswith("PLATFORM_")}
        if entry.name in OPERATORS:
            assert platform == {
                "PLATFORM_ADAPTER": "google",
                "PLATFORM_REGION": MANIFEST.defaults["region"],
                # what `make run` gives them (infra/local/stack.py), byte for byte
                "PLATFORM_FUNCTIONS": MANIFEST.bounds_json(),
            }
        else:
            assert platform == {}, entry.name


def test_the_custom_role_holds_exactly_the_permissions_of_the_calls_the_adapter_makes() -> None:
    source = ADAPTER.read_text()
    called = set(re.findall(r"\.(" + "|".join(PERMISSION_OF_CALL) + r")\(", source))
    role = resource(INFRA, "google_project_iam_custom_role", "function_operator")

    assert called == {"get_service", "update_service", "list_revisions"}
    assert sorted(one(role["permissions"])) == sorted(PERMISSION_OF_CALL[c] for c in called)


def test_each_operator_function_may_act_on_every_function_s_service_and_identity() -> None:
    grants = local(INFRA, "operator_tool_grants")
    service = resource(INFRA, "google_cloud_run_service_iam_member", "function_operator")
    act_as = resource(INFRA, "google_service_account_iam_member", "function_operator_act_as")

    assert "local.operator_tool_functions" in grants and "keys(local.functions)" in grants
    assert "operatorTools" in local(INFRA, "operator_tool_functions")
    assert one(service["role"]) == "${google_project_iam_custom_role.function_operator.id}"
    assert one(service["service"]) == "${module.function[each.value.target].name}"
    assert one(act_as["role"]) == "roles/iam.serviceAccountUser"
    assert "module.function[each.value.target].service_account_email" in one(
        act_as["service_account_id"]
    )
    for grant in (service, act_as):
        assert one(grant["for_each"]) == "${local.operator_tool_grants}"
        assert one(grant["member"]) == (
            "serviceAccount:${module.function[each.value.operator].service_account_email}"
        )


def test_logs_and_metrics_are_read_only_grants_to_those_functions_alone() -> None:
    for name, role in (
        ("function_operator_logs", "roles/logging.viewer"),
        ("function_operator_metrics", "roles/monitoring.viewer"),
    ):
        grant = resource(INFRA, "google_project_iam_member", name)

        assert one(grant["role"]) == role
        assert one(grant["for_each"]) == "${toset(local.operator_tool_functions)}"
        assert "module.function[each.value]" in one(grant["member"])
