"""Every role each service account holds, read from the Terraform, and where it holds it.

A project-wide grant reaches every resource of its kind in the project (the Terraform state
bucket included, for a storage role), so each one must be on the allow-list below with the
reason nothing narrower works. Everything else is granted on one resource: a bucket, a
secret, a topic, a subscription, a Cloud Run service, a service account.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.infra.terraform_hcl import INFRA, blocks, local, module_call, one
from tests.infra.test_terraform import MANIFEST, RUNTIME

FOLDERS = [INFRA, *sorted(path for path in (INFRA / "modules").iterdir() if path.is_dir())]

SCOPE_BY_TYPE = {
    "google_project_iam_member": "project",
    "google_project_iam_binding": "project",
    "google_project_iam_policy": "project",
    "google_storage_bucket_iam_member": "bucket",
    "google_secret_manager_secret_iam_member": "secret",
    "google_pubsub_topic_iam_member": "topic",
    "google_pubsub_subscription_iam_member": "subscription",
    "google_cloud_run_service_iam_member": "Cloud Run service",
    "google_service_account_iam_member": "service account",
}

# The functions that serve the operator tools (`operatorTools: true`: infra/operator_tools.tf).
OPERATOR_TOOLS = "fn-<operatorTools entry> (ops, mcp: the operator tools)"
# Who a member expression names (the first pattern that matches).
ACCOUNTS = [
    (r"google_service_account\.build\b", "function-builder"),
    (r"google_service_account\.function\b", "fn-<entry> (each function's own account)"),
    (r"push_service_account", "pubsub-push"),
    (r"pubsub_service_agent", "Pub/Sub service agent"),
    (r"monitoring_service_agent", "Monitoring notification agent"),
    (r"^allUsers$", "allUsers"),
    (r"module\.function\[each\.value(?:\.operator)?\]", OPERATOR_TOOLS),
    (r"each\.value", "operator_invokers (operators group; scheduler-invoker where it calls)"),
]

# Project-wide grants, each with the reason nothing narrower exists.
ALLOWED_PROJECT_GRANTS = {
    ("roles/datastore.user", "fn-<entry> (each function's own account)"): (
        "Firestore IAM stops at the database (no per-collection role); granted only to "
        "entries whose manifest lists Firestore collections"
    ),
    ("roles/artifactregistry.writer", "function-builder"): (
        "the gcf-artifacts repository the image goes to is created by the first build, "
        "so there is nothing narrower to grant on before it"
    ),
    ("roles/logging.logWriter", "function-builder"): (
        "log writing is granted on projects (or folders, organisations), not on logs"
    ),
    ("roles/logging.viewer", OPERATOR_TOOLS): (
        "function_logs queries Cloud Run's log entries, which are read per project (a log "
        "view would need a log bucket of the platform's own); the role only reads"
    ),
    ("roles/monitoring.viewer", OPERATOR_TOOLS): (
        "platform_status reads Cloud Run's request, latency and start-up time series, "
        "which Cloud Monitoring grants per project only; the role only reads"
    ),
}


def account_of(member: str) -> str:
    for pattern, account in ACCOUNTS:
        if re.search(pattern, member):
            return account
    raise AssertionError(f"an IAM member the test cannot name: {member}")


def roles_of(body: dict[str, Any]) -> list[str]:
    role = str(one(body["role"]))
    custom = re.fullmatch(r"\$\{google_project_iam_custom_role\.(\w+)\.id\}", role)
    if custom:
        [(_, _, _, defined)] = [
            b
            for b in blocks(INFRA, "resource")
            if b[1:3] == ("google_project_iam_custom_role", custom[1])
        ]
        return [f"custom {one(defined['role_id'])}: {', '.join(one(defined['permissions']))}"]
    if role == "${each.value}" and "build_roles" in str(one(body.get("for_each", ""))):
        return list(local(INFRA, "build_roles"))
    return [role]


def grants() -> list[tuple[str, str, str, str]]:
    """(account, role, scope, where) for every IAM member resource."""
    found = []
    for folder in FOLDERS:
        for path, type_, name, body in blocks(folder, "resource"):
            if not type_.endswith(("_iam_member", "_iam_binding", "_iam_policy")):
                continue
            scope = SCOPE_BY_TYPE.get(type_)
            assert scope is not None, f"{type_}: add its scope to SCOPE_BY_TYPE"
            where = f"{Path(path).relative_to(INFRA)}:{type_}.{name}"
            member = str(one(body.get("member", body.get("members", ""))))
            for role in roles_of(body):
                found.append((account_of(member), role, scope, where))
    return found


def test_every_project_wide_grant_is_on_the_allow_list_with_its_reason() -> None:
    project_wide = {(account, role) for account, role, scope, _ in grants() if scope == "project"}

    assert {(role, account) for account, role in project_wide} == set(ALLOWED_PROJECT_GRANTS)


def test_no_authoritative_iam_binding_or_policy_is_used() -> None:
    kinds = {where.split(":")[1].split(".")[0] for *_, where in grants()}

    assert not {k for k in kinds if k.endswith(("_iam_binding", "_iam_policy"))}


def test_each_account_holds_these_roles_and_no_others() -> None:
    listing: dict[str, set[tuple[str, str]]] = {}
    for account, role, scope, _ in grants():
        listing.setdefault(account, set()).add((role, scope))

    assert listing == {
        "function-builder": {
            ("roles/artifactregistry.writer", "project"),
            ("roles/logging.logWriter", "project"),
            ("roles/storage.objectAdmin", "bucket"),
        },
        "fn-<entry> (each function's own account)": {
            ("roles/datastore.user", "project"),
            ("roles/secretmanager.secretAccessor", "secret"),
            ("roles/pubsub.publisher", "topic"),
        },
        "pubsub-push": {("roles/run.invoker", "Cloud Run service")},
        "Pub/Sub service agent": {
            ("roles/iam.serviceAccountTokenCreator", "service account"),
            ("roles/pubsub.publisher", "topic"),
            ("roles/pubsub.subscriber", "subscription"),
        },
        "Monitoring notification agent": {("roles/pubsub.publisher", "topic")},
        "allUsers": {("roles/run.invoker", "Cloud Run service")},
        OPERATOR_TOOLS: {
            (
                "custom agentPlatformFunctionOperator: run.revisions.list, run.services.get, "
                "run.services.update",
                "Cloud Run service",
            ),
            ("roles/iam.serviceAccountUser", "service account"),
            ("roles/logging.viewer", "project"),
            ("roles/monitoring.viewer", "project"),
        },
        "operator_invokers (operators group; scheduler-invoker where it calls)": {
            ("roles/run.invoker", "Cloud Run service")
        },
    }


def test_the_build_account_reads_sources_from_their_bucket_only() -> None:
    bucket_grants = [
        body
        for _, type_, name, body in blocks(INFRA, "resource")
        if type_ == "google_storage_bucket_iam_member"
    ]

    assert [one(body["bucket"]) for body in bucket_grants] == ["${var.source_bucket}"]
    assert "roles/storage.objectAdmin" not in local(INFRA, "build_roles")


def test_the_scheduler_invokes_only_the_functions_its_jobs_call() -> None:
    call = module_call(INFRA, "function")
    invokers = str(one(call["operator_invokers"])).replace(" ", "")
    scheduled = {job.function for job in RUNTIME.scheduled_calls.values()}
    operators = {entry.name for entry in MANIFEST.functions if entry.access == "operators"}

    assert "contains(local.scheduled_functions,each.key)?{'scheduler'" in invokers
    assert "scheduled_http_calls" in str(local(INFRA, "scheduled_functions"))
    assert scheduled == {"loadtest", "sweep"}
    assert scheduled < operators  # ops and alerts: operators only
