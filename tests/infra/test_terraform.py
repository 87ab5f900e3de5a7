"""The Terraform in infra/ deploys every manifest entry the way the contract says.

`terraform validate` needs the Google provider, which cannot be downloaded offline, so
these tests parse the HCL and check what it derives from the manifest: the wiring in the
modules (scaling, one service account, invokers, triggers), the module validation rules
applied to every entry, and the dashboards rendered per entry as Terraform would.
"""

from __future__ import annotations

import hashlib
import json
import re
from math import ceil
from typing import Any

import pytest

from infra.manifest import Entry, load
from infra.rehearsal import config as runtime_config
from tests.infra.terraform_hcl import (
    INFRA,
    blocks,
    dynamic_blocks,
    local,
    module_call,
    one,
    parse,
    resource,
    tf_files,
    variables,
)

MANIFEST = load()
ENTRIES = MANIFEST.functions
IDS = [entry.name for entry in ENTRIES]
FUNCTION_MODULE = INFRA / "modules" / "function"
MODULES = sorted(path for path in (INFRA / "modules").iterdir() if path.is_dir())
ROOTS = [INFRA, INFRA / "environments" / "staging", INFRA / "environments" / "prod"]
DASHBOARDS = INFRA / "dashboards"
RUNTIME_CONFIG = INFRA / "modules" / "runtime_config"
# modules/runtime_config evaluated by terraform, as `make rehearse` reads it.
RUNTIME = runtime_config.evaluate(
    INFRA,
    {"project_id": "demo-test", "environment": "prod", "api_url": "https://api.example.com"},
)


def account_id(name: str) -> str:
    """modules/function's `local.account_id`, in Python."""
    if len(name) <= 27:
        return f"fn-{name}"
    return f"fn-{name[:19]}-{hashlib.sha1(name.encode()).hexdigest()[:7]}"  # noqa: S324


def render_function_row(service: str) -> list[dict[str, Any]]:
    """templatefile(function_row.json, {service}) as Terraform renders it."""
    text = (DASHBOARDS / "function_row.json").read_text()
    placeholders = set(re.findall(r"(?<!\$)\$\{([^}]*)\}", text))
    assert placeholders <= {"service"}, f"unknown template variables {placeholders}"
    rendered = re.sub(r"(?<!\$)\$\{service\}", service, text).replace("$${", "${")
    return json.loads(rendered)


def series_filters(tile: dict[str, Any]) -> list[str]:
    filters = []
    for data_set in tile["widget"]["xyChart"]["dataSets"]:
        query = data_set["timeSeriesQuery"]
        if "timeSeriesFilter" in query:
            filters.append(query["timeSeriesFilter"]["filter"])
        else:
            ratio = query["timeSeriesFilterRatio"]
            filters += [ratio["numerator"]["filter"], ratio["denominator"]["filter"]]
    return filters


def aggregations(tile: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for data_set in tile["widget"]["xyChart"]["dataSets"]:
        query = data_set["timeSeriesQuery"]
        if "timeSeriesFilter" in query:
            found.append(query["timeSeriesFilter"]["aggregation"])
    return found


# --- the manifest drives the root module -------------------------------------------------


def test_root_module_reads_the_manifest_next_to_it() -> None:
    manifest = local(INFRA, "manifest")

    assert "yamldecode(file(" in manifest
    assert "${path.module}/functions.yaml" in manifest
    assert (INFRA / "functions.yaml").is_file()


def test_one_function_module_instance_per_manifest_entry() -> None:
    call = module_call(INFRA, "function")

    assert one(call["source"]) == "./modules/function"
    assert one(call["for_each"]) == "${local.functions}"
    assert "for entry in local.manifest.functions : entry.name => entry" in local(
        INFRA, "functions"
    )


def test_root_passes_every_scaling_field_from_the_manifest() -> None:
    scaling = one(module_call(INFRA, "function")["scaling"])

    assert set(scaling) == {
        "min_instances",
        "max_instances",
        "concurrency",
        "cpu",
        "memory",
        "timeout_seconds",
    }
    for key, manifest_key in [
        ("max_instances", "maxInstances"),
        ("concurrency", "concurrency"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("timeout_seconds", "timeoutSeconds"),
    ]:
        assert f"each.value.scaling.{manifest_key}" in scaling[key]
    assert "each.value.scaling.minInstances" in scaling["min_instances"]


def test_function_module_sets_scaling_explicitly_on_the_service() -> None:
    function = resource(FUNCTION_MODULE, "google_cloudfunctions2_function", "function")
    service = one(function["service_config"])

    assert one(service["min_instance_count"]) == "${var.scaling.min_instances}"
    assert one(service["max_instance_count"]) == "${var.scaling.max_instances}"
    assert one(service["max_instance_request_concurrency"]) == "${var.scaling.concurrency}"
    assert one(service["available_cpu"]) == "${var.scaling.cpu}"
    assert one(service["available_memory"]) == "${var.scaling.memory}"
    assert one(service["timeout_seconds"]) == "${var.scaling.timeout_seconds}"


def test_function_runs_as_its_own_service_account() -> None:
    function = resource(FUNCTION_MODULE, "google_cloudfunctions2_function", "function")
    account = resource(FUNCTION_MODULE, "google_service_account", "function")

    assert "local.account_id" in one(account["account_id"])
    assert (
        one(one(function["service_config"])["service_account_email"])
        == "${google_service_account.function.email}"
    )


def test_service_account_ids_are_valid_and_distinct_for_every_entry() -> None:
    ids = [account_id(entry.name) for entry in ENTRIES]
    shared_accounts = {
        one(body["account_id"])
        for _, type_, _, body in blocks(INFRA, "resource")
        if type_ == "google_service_account"
    }

    assert all(re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", value) for value in ids), ids
    assert len(set(ids)) == len(ids)
    assert not shared_accounts & set(ids)


def test_function_is_built_from_its_zip_with_the_manifest_runtime() -> None:
    call = module_call(INFRA, "function")

    assert one(call["source_object"]) == "${var.source_prefix}/${each.key}.zip"
    assert one(call["entry_point"]) == "${each.value.entryPoint}"
    assert local(INFRA, "runtime") == "${local.manifest.defaults.runtime}"
    assert MANIFEST.defaults["runtime"] == "python312"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_passes_the_function_module_validations(entry: Entry) -> None:
    scaling = entry.scaling

    assert re.fullmatch(r"[a-z][a-z0-9-]{2,40}", entry.name)
    assert 0 <= scaling.min_instances <= scaling.max_instances
    assert 1 <= scaling.concurrency <= 1000
    assert scaling.concurrency == 1 or float(scaling.cpu) >= 1, "concurrency > 1 needs 1 CPU"
    assert re.fullmatch(r"[0-9]+(Mi|Gi)", scaling.memory)
    assert 1 <= scaling.timeout_seconds <= 3600
    assert entry.access in {"public", "operators", "pubsub"}
    assert (entry.access == "pubsub") == (not entry.is_http), "pubsub access <=> pubsub trigger"


# --- least privilege ------------------------------------------------------------------------


def test_function_roles_are_the_least_its_manifest_entry_needs() -> None:
    roles = {
        (type_, name): (one(body["role"]), one(body.get("count")), one(body.get("for_each")))
        for _, type_, name, body in blocks(FUNCTION_MODULE, "resource")
        if "role" in body
    }

    assert roles[("google_project_iam_member", "firestore_user")][:2] == (
        "roles/datastore.user",
        "${var.firestore_access ? 1 : 0}",
    )
    assert roles[("google_secret_manager_secret_iam_member", "accessor")][::2] == (
        "roles/secretmanager.secretAccessor",
        "${local.secret_ids}",
    )
    assert roles[("google_pubsub_topic_iam_member", "publisher")][::2] == (
        "roles/pubsub.publisher",
        "${toset(var.publishes)}",
    )
    others = {role for key, (role, _, _) in roles.items() if key[1] not in {"firestore_user"}}
    assert others <= {
        "roles/secretmanager.secretAccessor",
        "roles/pubsub.publisher",
        "roles/pubsub.subscriber",
        "roles/run.invoker",
    }


def test_no_project_wide_role_beyond_firestore_access() -> None:
    project_roles = {
        one(body["role"])
        for path in [INFRA, *MODULES]
        for _, type_, _, body in blocks(path, "resource")
        if type_ in {"google_project_iam_member", "google_project_iam_binding"}
    }

    build = resource(INFRA, "google_project_iam_member", "build")

    # The build account's roles, one member each (for_each over local.build_roles), and
    # the two read-only roles of the operator tools (infra/operator_tools.tf).
    assert project_roles == {
        "roles/datastore.user",
        "${each.value}",
        "roles/logging.viewer",
        "roles/monitoring.viewer",
    }
    assert one(build["member"]) == "${google_service_account.build.member}"
    assert one(build["for_each"]) == "${toset(local.build_roles)}"


def test_functions_are_built_by_a_build_account_of_their_own() -> None:
    call = module_call(INFRA, "function")
    build_variable = variables(FUNCTION_MODULE)["build_service_account"]

    assert one(call["build_service_account"]) == "${google_service_account.build.id}"
    assert "default" not in build_variable, "never the project's default build account"
    assert set(local(INFRA, "build_roles")) == {
        "roles/artifactregistry.writer",
        "roles/logging.logWriter",
    }  # and storage.objectAdmin on the sources bucket only (test_least_privilege.py)
    assert "${google_project_iam_member.build}" in one(call["depends_on"])


def test_root_grants_each_entry_only_its_own_secrets_topics_and_firestore() -> None:
    call = module_call(INFRA, "function")

    assert one(call["secrets"]) == (
        "${module.runtime_config.secret_environment_variables[each.key]}"
    )
    assert RUNTIME.secrets == {
        entry.name: [secret.model_dump() for secret in entry.secrets] for entry in ENTRIES
    }
    assert one(call["publishes"]) == "${try(each.value.publishes,[])}"
    assert "each.value.firestore" in one(call["firestore_access"])


# --- who may invoke -------------------------------------------------------------------------


def test_invoker_grants_follow_the_access_of_the_entry() -> None:
    public = resource(FUNCTION_MODULE, "google_cloud_run_service_iam_member", "public")
    operator = resource(FUNCTION_MODULE, "google_cloud_run_service_iam_member", "operator")
    pusher = resource(FUNCTION_MODULE, "google_cloud_run_service_iam_member", "pubsub_pusher")

    assert one(public["member"]) == "allUsers"
    assert one(public["count"]).replace(" ", "") == (
        '${var.access=="public"&&var.public_invoker=="allUsers"?1:0}'
    )
    assert one(operator["for_each"]).startswith('${var.access == "operators"')
    assert "var.operator_invokers" in one(operator["for_each"])
    assert one(pusher["count"]).replace(" ", "") == '${var.access=="pubsub"?1:0}'
    assert "push_service_account" in one(pusher["member"])


def test_operators_functions_trust_iam_and_admit_the_group_and_scheduler_only() -> None:
    call = module_call(INFRA, "function")
    access_env = local(RUNTIME_CONFIG, "access_env")

    invokers = str(one(call["operator_invokers"])).replace(" ", "")
    # The group on every operators function; the scheduler where a job calls it.
    assert invokers.startswith("${merge({'operators':'${var.operators_group}'}")
    assert "{'scheduler':'${google_service_account.scheduler.member}'}" in invokers
    assert access_env["operators"] == {"OPERATOR_AUTH": "iam"}
    assert access_env["public"] == {} and access_env["pubsub"] == {}


def test_no_function_accepts_traffic_from_outside_the_load_balancer() -> None:
    ingress = local(FUNCTION_MODULE, "ingress").replace(" ", "")
    text = "\n".join(path.read_text() for path in tf_files())

    assert ingress == '${var.access=="pubsub"?"ALLOW_INTERNAL_ONLY":"ALLOW_INTERNAL_AND_GCLB"}'
    assert "ALLOW_ALL" not in text


# --- Pub/Sub triggers -----------------------------------------------------------------------


def test_push_subscription_has_retry_dead_letter_and_oidc() -> None:
    subscription = resource(FUNCTION_MODULE, "google_pubsub_subscription", "trigger")
    push = one(subscription["push_config"])

    assert one(subscription["count"]).replace(" ", "") == "${var.pubsub_trigger==None?0:1}"
    assert set(one(subscription["retry_policy"])) >= {"minimum_backoff", "maximum_backoff"}
    assert "dead_letter_policy" in dynamic_blocks(subscription)
    assert "service_account_email" in one(push["oidc_token"])
    assert one(push["push_endpoint"]).endswith("${var.pubsub_trigger.push_path}")
    assert one(subscription["ack_deadline_seconds"]) == (
        "${var.pubsub_trigger.ack_deadline_seconds}"
    )
    assert (
        one(module_call(INFRA, "function")["pubsub_trigger"]).count(
            "module.runtime_config.subscriptions[each.key]"
        )
        == 1
    )
    for entry in MANIFEST.pubsub_entries():
        assert entry.trigger.pubsub is not None
        pushed = RUNTIME.subscriptions[entry.name]
        assert pushed.push_path == f"/projects/demo-test/topics/{entry.trigger.pubsub.topic}"
        assert pushed.ack_deadline_seconds == min(600, max(10, entry.scaling.timeout_seconds))


@pytest.mark.parametrize(
    "entry", MANIFEST.pubsub_entries(), ids=[e.name for e in MANIFEST.pubsub_entries()]
)
def test_pubsub_entry_topic_and_dead_letter_topic_are_created(entry: Entry) -> None:
    assert entry.trigger.pubsub is not None
    topic = entry.trigger.pubsub.topic
    base_topics = {name.removesuffix("-dead-letter") for name in MANIFEST.topics()}
    call = module_call(INFRA, "topics")

    assert one(call["for_each"]) == "${module.runtime_config.base_topics}"
    assert topic.removesuffix("-dead-letter") in base_topics
    assert set(RUNTIME.base_topics) == base_topics | {"monitoring-incidents"}
    expected_dead_letter = None if topic.endswith("-dead-letter") else f"{topic}-dead-letter"
    assert RUNTIME.subscriptions[entry.name].dead_letter_topic == expected_dead_letter


def test_every_dead_letter_topic_of_a_consumed_topic_becomes_alerts() -> None:
    """A message a consumer gave up on is an alert, whichever topic it came from."""
    consumed = {
        entry.trigger.pubsub.topic
        for entry in MANIFEST.pubsub_entries()
        if entry.trigger.pubsub and not entry.trigger.pubsub.topic.endswith("-dead-letter")
    }
    alerted = {
        entry.trigger.pubsub.topic.removesuffix("-dead-letter")
        for entry in MANIFEST.pubsub_entries()
        if entry.trigger.pubsub and entry.entry_point == "alerts_dead_letters"
    }

    assert "agent-events" in consumed
    assert consumed - {"outbox-relay"} <= alerted  # a relay tick is never retried


def test_topic_module_makes_a_dead_letter_topic_and_backlog_subscription() -> None:
    module = INFRA / "modules" / "pubsub_topic"
    dead_letter = resource(module, "google_pubsub_topic", "dead_letter")
    backlog = resource(module, "google_pubsub_subscription", "dead_letter_backlog")

    assert one(dead_letter["name"]) == "${var.name}-dead-letter"
    assert one(backlog["topic"]) == "${google_pubsub_topic.dead_letter.id}"
    assert "push_config" not in backlog


# --- edge: load balancer, Cloud Armor, scheduler --------------------------------------------


def test_url_map_routes_every_http_prefix_of_the_manifest() -> None:
    module = INFRA / "modules" / "load_balancer"
    backends = one(module_call(INFRA, "load_balancer")["backends"])
    path_rules = local(module, "path_rules")
    prefix_rule = one(variables(module)["backends"]["validation"])["condition"]

    assert "for name, entry in local.http" in backends.replace(" ,", ",")
    assert "entry.trigger.http.paths" in backends
    assert '"${prefix}/*"' in path_rules or "'${prefix}/*'" in path_rules
    assert "^/([a-z0-9/_-]*[a-z0-9])?$" in str(prefix_rule)
    for entry in MANIFEST.http_entries():
        assert entry.trigger.http is not None
        for prefix in entry.trigger.http.paths:
            assert re.fullmatch(r"/([a-z0-9/_-]*[a-z0-9])?", prefix), prefix
        assert len(f"agents-staging-{entry.name}") <= 63


def test_the_root_page_is_routed_alone_so_unknown_paths_keep_the_json_404() -> None:
    path_rules = local(INFRA / "modules" / "load_balancer", "path_rules")

    assert 'prefix == "/" ? ["/"]' in path_rules.replace("'", '"')


def test_port_80_only_redirects_to_https() -> None:
    module = INFRA / "modules" / "load_balancer"
    redirect = resource(module, "google_compute_url_map", "https_redirect")
    plain = resource(module, "google_compute_global_forwarding_rule", "http_redirect")

    assert one(one(redirect["default_url_redirect"])["https_redirect"]) is True
    assert one(plain["port_range"]) == "80"
    assert "https_redirect" in one(plain["target"])


def test_cloud_armor_limits_session_creation_and_chat_harder_than_the_rest() -> None:
    module = INFRA / "modules" / "load_balancer"
    policy = resource(module, "google_compute_security_policy", "edge")
    rules = {one(rule["priority"]): rule for rule in policy["rule"] if "rate_limit_options" in rule}
    defaults = one(variables(module)["rate_limits"]["default"])
    expressions = {
        priority: one(one(one(rule["match"])["expr"])["expression"])
        for priority, rule in rules.items()
        if "expr" in one(rule["match"])
    }

    assert "request.path == '/v1/sessions'" in expressions[1000]
    assert "request.path.startsWith('/v1/conversations')" in expressions[1100]
    assert one(rules[2000]["action"]) == "rate_based_ban"
    assert defaults["session_create_per_minute"] < defaults["chat_post_per_minute"]
    assert defaults["chat_post_per_minute"] < defaults["general_per_minute"]


def test_load_test_is_scheduled_with_an_oidc_token_on_an_operators_function() -> None:
    job = resource(INFRA, "google_cloud_scheduler_job", "call")
    default_calls = one(variables(INFRA)["scheduled_calls"]["default"])
    target = one(one(job["http_target"])["oidc_token"])
    served_by = [
        entry
        for entry in MANIFEST.http_entries()
        if entry.trigger.http
        and any(
            default_calls["loadtest"]["path"].startswith(prefix + "/")
            for prefix in entry.trigger.http.paths
        )
    ]

    assert default_calls["loadtest"]["path"] == "/v1/loadtests/runs"
    assert one(target["service_account_email"]) == "${google_service_account.scheduler.email}"
    assert all(entry.access == "operators" for entry in served_by)


# --- Firestore TTL ---------------------------------------------------------------------------


def test_ttl_policies_cover_every_collection_that_expires_but_not_the_outbox() -> None:
    ttl = local(INFRA, "firestore_ttl_fields")

    assert ttl == {
        name: "expiresAt"
        for name in [
            "agent_totals",
            "agents",
            "alert_counters",
            "alerts",
            "conversations",
            "idempotency_keys",
            "limits",
            "messages",
            "notifications",
            "processed_events",
            "quotas",
            "sessions",
            "silences",
            "webhook_deliveries",
        ]
    }


# --- dashboards and alerts ------------------------------------------------------------------


def test_dashboard_templates_are_valid_json() -> None:
    for path in sorted(DASHBOARDS.glob("*.json")):
        assert isinstance(json.loads(path.read_text()), list), path.name


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_every_entry_gets_a_complete_dashboard_row(entry: Entry) -> None:
    tiles = render_function_row(entry.name)
    filters = [f for tile in tiles for f in series_filters(tile)]
    reducers = {a.get("crossSeriesReducer") for tile in tiles for a in aggregations(tile)}
    ratio_tiles = [
        tile
        for tile in tiles
        if any(
            "timeSeriesFilterRatio" in data_set["timeSeriesQuery"]
            for data_set in tile["widget"]["xyChart"]["dataSets"]
        )
    ]

    assert all(f'resource.label.service_name="{entry.name}"' in f for f in filters)
    assert all(entry.name in tile["widget"]["title"] for tile in tiles)
    for metric in [
        "run.googleapis.com/request_count",
        "run.googleapis.com/request_latencies",
        "run.googleapis.com/container/instance_count",
        "run.googleapis.com/container/cpu/utilizations",
        "run.googleapis.com/container/memory/utilizations",
    ]:
        assert any(f'metric.type="{metric}"' in f for f in filters), metric
    assert {"REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_99"} <= reducers
    assert len(ratio_tiles) == 1, "one 5xx-ratio tile"
    assert sum(tile["width"] for tile in tiles) <= 48


def test_dashboards_hold_every_service_in_rows_under_the_widget_limit() -> None:
    call = module_call(INFRA, "monitoring")
    per_dashboard = one(variables(INFRA / "modules" / "monitoring")["functions_per_dashboard"])
    limit = one(per_dashboard["default"])
    row_tiles = len(render_function_row("x"))

    assert "keys(local.functions)" in one(call["services"])
    assert ceil(len(ENTRIES) / limit) >= 1
    assert limit * row_tiles <= 40


def test_platform_dashboard_shows_every_log_based_metric_it_names() -> None:
    module = INFRA / "modules" / "monitoring"
    defined = set(local(module, "distribution_metrics")) | set(local(module, "counter_metrics"))
    text = (DASHBOARDS / "platform.json").read_text()
    shown = set(re.findall(r"logging\.googleapis\.com/user/([a-z_]+)", text))

    assert shown <= defined
    assert {
        "chat_input_tokens",
        "chat_output_tokens",
        "model_latency",
        "persona_routes",
        "webhook_deliveries",
        "notifications_sent",
    } <= shown
    assert "-dead-letter-backlog" in text


def test_alert_policies_notify_the_incidents_topic() -> None:
    module = INFRA / "modules" / "monitoring"
    channel = resource(module, "google_monitoring_notification_channel", "incidents")
    policies = {
        name: body
        for _, type_, name, body in blocks(module, "resource")
        if type_ == "google_monitoring_alert_policy"
    }
    error_ratio = one(one(policies["error_ratio"]["conditions"])["condition_threshold"])
    monitoring_vars = variables(module)

    assert one(channel["type"]) == "pubsub"
    assert one(module_call(INFRA, "monitoring")["incident_topic"]) == (
        "${module.topics[module.runtime_config.incident_topic].topic}"
    )
    assert local(RUNTIME_CONFIG, "incident_topic") == "monitoring-incidents"
    assert set(policies) == {
        "error_ratio",
        "latency_p95",
        "dead_letters",
        "loadtest_failures",
        "scheduler_failures",
        "alert_delivery",  # e-mail only (tests/infra/test_alert_paths.py)
    }
    channels = local(module, "notification_channels")
    assert "google_monitoring_notification_channel.incidents.id" in channels
    for name, body in policies.items():
        if name != "alert_delivery":
            assert one(body["notification_channels"]) == "${local.notification_channels}"
    assert "denominator_filter" in error_ratio
    assert one(monitoring_vars["error_ratio_threshold"]["default"]) == 0.01
    assert one(monitoring_vars["error_ratio_duration"]["default"]) == "300s"


# --- module hygiene -------------------------------------------------------------------------


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_module_has_main_variables_outputs_and_versions(module: Any) -> None:
    assert {p.name for p in module.glob("*.tf")} >= {
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "versions.tf",
    }


@pytest.mark.parametrize(
    "folder", [*MODULES, *ROOTS], ids=[str(p.relative_to(INFRA)) for p in [*MODULES, *ROOTS]]
)
def test_every_variable_is_typed_and_described(folder: Any) -> None:
    for name, body in variables(folder).items():
        assert "type" in body, f"{folder.name}: variable {name} has no type"
        assert one(body.get("description", "")), f"{folder.name}: variable {name} undescribed"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_environment_is_a_thin_root_with_a_gcs_backend(environment: str) -> None:
    folder = INFRA / "environments" / environment
    terraform = [block for p in folder.glob("*.tf") for block in parse(p).get("terraform", [])]
    backends = [backend for block in terraform for backend in block.get("backend", [])]
    call = module_call(folder, "platform")

    assert any("gcs" in backend for backend in backends)
    assert one(call["source"]) == "../.."
    assert one(call["environment"]) == environment
    assert not blocks(folder, "resource"), "environments only configure the shared root"


# --- a first apply on a fresh project -----------------------------------------------------

# The API each resource type needs enabled (the provider reports a disabled API only when
# apply reaches it). Cloud Run functions build with Cloud Build into Artifact Registry.
APIS_BY_RESOURCE_PREFIX = {
    "google_cloudfunctions2_": {
        "cloudfunctions.googleapis.com",
        "run.googleapis.com",
        "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com",
    },
    "google_cloud_run_": {"run.googleapis.com"},
    "google_pubsub_": {"pubsub.googleapis.com"},
    "google_cloud_scheduler_": {"cloudscheduler.googleapis.com"},
    "google_compute_": {"compute.googleapis.com"},
    "google_firestore_": {"firestore.googleapis.com"},
    "google_service_account": {"iam.googleapis.com"},
    "google_project_iam_custom_role": {"iam.googleapis.com"},
    "google_secret_manager_": {"secretmanager.googleapis.com"},
    "google_logging_": {"logging.googleapis.com"},
    "google_monitoring_": {"monitoring.googleapis.com"},
    "google_storage_": {"storage.googleapis.com"},
    # Creates a service agent through Service Usage (enabled by the bootstrap), for a
    # service whose API is in local.apis.
    "google_project_service_identity": set(),
}


def test_every_api_a_resource_needs_is_enabled() -> None:
    enabled = set(re.findall(r"[a-z]+\.googleapis\.com", local(INFRA, "apis")))
    used = {type_ for path in [INFRA, *MODULES] for _, type_, _, _ in blocks(path, "resource")}
    needed = {
        api
        for type_ in used
        for prefix, apis in APIS_BY_RESOURCE_PREFIX.items()
        if type_.startswith(prefix)
        for api in apis
    }
    unmapped = {
        type_
        for type_ in used
        if not any(type_.startswith(prefix) for prefix in APIS_BY_RESOURCE_PREFIX)
        and type_ not in {"google_project_service", "google_project_iam_member"}
    }

    assert unmapped == set(), "map these resource types to the APIs they need"
    assert needed <= enabled, needed - enabled


def test_everything_in_the_root_waits_for_the_apis() -> None:
    """A fresh project has the APIs off; anything created before they are on fails."""
    waiting = {"google_project_service.api", "module.topics"}
    late = []
    for _, type_, name, body in blocks(INFRA, "resource"):
        depends = str(one(body.get("depends_on", [])))
        if type_ in {"google_project_service"}:
            continue
        uses_an_api_resource = any(ref in str(body) for ref in ("google_service_account.",))
        if not any(item in depends for item in waiting) and not uses_an_api_resource:
            late.append(f"{type_}.{name}")
    for path in sorted(INFRA.glob("*.tf")):
        for block in parse(path).get("module", []):
            for name, body in block.items():
                source = one(body["source"])
                if "runtime_config" in source:
                    continue  # computes values only
                depends = str(one(body.get("depends_on", [])))
                if "google_project_service.api" not in depends:
                    late.append(f"module.{name}")

    assert late == []


def test_no_alert_policy_waits_on_a_log_based_metric_of_the_same_apply() -> None:
    """Monitoring answers 404 for a user metric until it propagates (provider issue
    11102): a threshold on one created in the same apply fails the first apply."""
    module = INFRA / "modules" / "monitoring"
    policies = {
        name: body
        for _, type_, name, body in blocks(module, "resource")
        if type_ == "google_monitoring_alert_policy"
    }
    loadtest = one(one(policies["loadtest_failures"]["conditions"])["condition_matched_log"])

    for name, body in policies.items():
        assert "logging.googleapis.com/user/" not in str(body["conditions"]), name
    assert one(loadtest["filter"]) == "${local.counter_metrics.loadtest_failures.filter}"
    assert "notification_rate_limit" in one(policies["loadtest_failures"]["alert_strategy"])


def test_a_failing_scheduler_job_alerts() -> None:
    module = INFRA / "modules" / "monitoring"
    policy = resource(module, "google_monitoring_alert_policy", "scheduler_failures")
    condition = one(one(policy["conditions"])["condition_matched_log"])

    assert one(condition["filter"]) == "${local.scheduler_failures}"
    assert local(module, "scheduler_failures").replace('\\"', '"') == (
        'resource.type="cloud_scheduler_job" AND severity>=ERROR'
    )


def test_scheduled_load_test_names_a_scenario_and_targets_the_public_api() -> None:
    call = RUNTIME.scheduled_calls["loadtest"]
    env = RUNTIME.environment_variables["loadtest"]

    assert json.loads(call.body).get("scenario") in {"light", "medium", "heavy", "spike"}
    assert (call.method, call.path, call.headers) == (
        "POST",
        "/v1/loadtests/runs",
        {"Content-Type": "application/json"},
    )
    assert env["LOADTEST_TARGET_BASE_URL"] == "https://api.example.com"
    assert env["LOADTEST_ALLOWED_TARGETS"] == "https://api.example.com"
    assert local(INFRA, "api_url") == "https://${var.domains[0]}"


def test_sweeps_are_scheduled_every_ten_minutes_on_the_operators_sweep_function() -> None:
    default_calls = one(variables(INFRA)["scheduled_calls"]["default"])
    call = RUNTIME.scheduled_calls["sweep"]
    entry = next(entry for entry in MANIFEST.functions if entry.name == call.function)

    assert default_calls["sweep"]["schedule"] == "*/10 * * * *"
    assert (call.function, call.method, call.path, call.body) == (
        "sweep",
        "POST",
        "/v1/sweeps",
        "{}",
    )
    assert (entry.entry_point, entry.access) == ("sweep", "operators")


def test_scheduler_job_sends_what_runtime_config_computes() -> None:
    job = resource(INFRA, "google_cloud_scheduler_job", "call")
    target = one(job["http_target"])

    assert one(job["for_each"]) == "${module.runtime_config.scheduled_http_calls}"
    assert one(target["http_method"]) == "${each.value.method}"
    assert one(target["body"]) == "${base64encode(each.value.body)}"
    assert one(target["headers"]) == "${each.value.headers}"
    assert one(target["uri"]).endswith("${each.value.path}")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_production_serves_with_the_threads_bench_measures(entry: Entry) -> None:
    env = RUNTIME.environment_variables[entry.name]

    assert {key: env.get(key) for key in entry.server_env} == entry.server_env
    assert entry.server_env["THREADS"] == str(entry.scaling.concurrency)
    assert one(module_call(INFRA, "function")["environment_variables"]) == (
        "${module.runtime_config.environment_variables[each.key]}"
    )


def test_bench_and_the_local_stack_serve_with_the_manifest_threads() -> None:
    bench = (INFRA.parent / "bench" / "procs.py").read_text()
    stack = (INFRA / "local" / "stack.py").read_text()

    assert 'threads=int(entry.server_env["THREADS"])' in bench
    assert "**entry.server_env" in stack


def test_cloud_armor_runs_the_owasp_rule_sets_before_the_rate_limits() -> None:
    module = INFRA / "modules" / "load_balancer"
    policy = resource(module, "google_compute_security_policy", "edge")
    waf = local(module, "waf_rules")
    dynamic_rule = one(dynamic_blocks(policy)["rule"])
    content = one(dynamic_rule["content"])
    expression = one(one(one(content["match"])["expr"])["expression"])
    limits = [one(rule["priority"]) for rule in policy["rule"] if "rate_limit_options" in rule]

    assert {"sqli", "xss", "lfi", "rfi", "scannerdetection"} <= set(waf)
    assert one(dynamic_rule["for_each"]) == "${local.waf_rules}"
    assert one(content["action"]) == "deny(403)"
    assert "evaluatePreconfiguredWaf('${rule.key}-v33-stable'" in expression
    assert max(rule["priority"] for rule in waf.values()) < min(limits)
