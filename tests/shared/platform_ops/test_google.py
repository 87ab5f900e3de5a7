"""The operator tools on a deployment: the Google adapter with the real client libraries
(`run_v2` over REST, `google-cloud-logging`'s JSON API, `monitoring_v3` over gRPC) against
local servers that speak those APIs (tests/support/google_apis.py), errors included."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as google

from shared.core import errors, state
from shared.tools import registry
from shared.tools.registry import Caller
from tests.support.google_apis import FakeCloudRun, FakeLogging, FakeMonitoring, google_apis

OPERATOR = Caller(operator=True, requested_by="ops@example.com")
PROJECT = "demo-agent-platform-test"  # tests/conftest.py
REGION = "europe-west1"
FUNCTIONS = {
    "chat": {"minInstances": 1, "maxInstances": 40},
    "webhook": {"minInstances": 0, "maxInstances": 10},
    "agents": {"minInstances": 0, "maxInstances": 20},
}


@pytest.fixture
def apis(
    settings: Callable[..., None],
) -> Iterator[tuple[FakeCloudRun, FakeLogging, FakeMonitoring]]:
    with google_apis(PROJECT, REGION) as (run, logging_api, monitoring):
        run.add_service("chat", revisions=3, min_instances=1, max_instances=40)
        run.add_service("webhook", revisions=1, max_instances=10)
        settings(
            PLATFORM_ADAPTER="google",
            PLATFORM_REGION=REGION,
            PLATFORM_FUNCTIONS=json.dumps(FUNCTIONS),
            PLATFORM_RUN_ENDPOINT=run.url,
            PLATFORM_LOGGING_ENDPOINT=logging_api.url,
            PLATFORM_MONITORING_ENDPOINT=monitoring.endpoint,
            PLATFORM_ROLLOUT_POLL_SECONDS="0.05",
            PLATFORM_CALL_TIMEOUT_SECONDS="2",
        )
        yield run, logging_api, monitoring
    state.reset()


def call(name: str, arguments: dict[str, Any]) -> registry.ToolOutcome:
    return registry.execute(OPERATOR, name, arguments)


def patches(run: FakeCloudRun) -> list[Any]:
    return [r for r in run.requests if r.method == "PATCH"]


# -- platform_status -----------------------------------------------------------------------


def test_status_reads_each_service_and_its_figures_over_the_window(apis: Any) -> None:
    run, _, monitoring = apis
    requests = "run.googleapis.com/request_count"
    monitoring.add(requests, "chat", ints=[90, 5], labels={"response_code_class": "2xx"})
    monitoring.add(requests, "chat", ints=[3], labels={"response_code_class": "5xx"})
    monitoring.add("run.googleapis.com/request_latencies", "chat", doubles=[412.5, 380.0])
    monitoring.add("run.googleapis.com/container/startup_latencies", "chat", counts=[2, 1])

    outcome = call("platform_status", {"minutes": 30})

    assert outcome.is_error is False, outcome.result
    report = outcome.result
    assert (report["source"], report["minutes"]) == ("cloud-run", 30)
    chat = next(f for f in report["functions"] if f["function"] == "chat")
    assert chat["servingRevision"] == run.serving("chat") == "chat-00003-ddd"
    assert "traffic" not in chat  # one revision serves: no split to show
    assert chat["ready"] is True
    assert chat["instances"] == {"minInstances": 1, "maxInstances": 40}
    assert chat["manifest"] == {"minInstances": 1, "maxInstances": 40}
    assert (chat["requests"], chat["errors5xx"], chat["p95Ms"], chat["coldStarts"]) == (
        98,
        3,
        412.5,
        3,
    )
    webhook = next(f for f in report["functions"] if f["function"] == "webhook")
    assert (webhook["requests"], webhook["coldStarts"]) == (0, 0)
    assert "p95Ms" not in webhook  # no request, no latency


def test_status_asks_monitoring_for_each_metric_per_service_over_exactly_the_window(
    apis: Any,
) -> None:
    _, _, monitoring = apis

    call("platform_status", {"function": "chat", "minutes": 15})

    asked = {r.filter.split('"')[1]: r for r in monitoring.requests}
    assert set(asked) == {
        "run.googleapis.com/request_count",
        "run.googleapis.com/request_latencies",
        "run.googleapis.com/container/startup_latencies",
    }
    for request in asked.values():
        assert request.name == f"projects/{PROJECT}"
        assert 'resource.type = "cloud_run_revision"' in request.filter
        assert 'resource.labels.service_name = one_of("chat")' in request.filter
        window = request.interval.end_time - request.interval.start_time
        assert window.total_seconds() == 15 * 60
        assert request.aggregation.alignment_period.total_seconds() == 15 * 60
    latency = asked["run.googleapis.com/request_latencies"].aggregation
    assert latency.cross_series_reducer.name == "REDUCE_PERCENTILE_95"
    counts = asked["run.googleapis.com/request_count"].aggregation
    assert list(counts.group_by_fields) == [
        "resource.label.service_name",
        "metric.label.response_code_class",
    ]


def test_a_function_without_a_cloud_run_service_is_noted_and_the_others_still_read(
    apis: Any,
) -> None:
    outcome = call("platform_status", {})

    agents = next(f for f in outcome.result["functions"] if f["function"] == "agents")
    assert "servingRevision" not in agents
    assert "no service agents" in agents["note"]
    assert [f["function"] for f in outcome.result["functions"]] == ["agents", "chat", "webhook"]


def test_an_unknown_function_is_an_error_naming_the_functions_there_are(apis: Any) -> None:
    run, _, _ = apis

    outcome = call("platform_status", {"function": "nginx"})

    assert outcome.is_error is True
    assert "no function named 'nginx'" in outcome.result["error"]
    assert "chat, webhook" in outcome.result["error"]
    assert run.requests == []


# -- function_logs -------------------------------------------------------------------------


def test_logs_send_a_bounded_query_and_read_each_kind_of_entry(apis: Any) -> None:
    _, logging_api, _ = apis
    logging_api.add("chat", "ERROR", "chat run failed: model timeout")
    logging_api.add("chat", "WARNING", text="plain text line")
    logging_api.add(
        "chat",
        "ERROR",
        http={"requestMethod": "POST", "requestUrl": "/v1/conversations/x/messages", "status": 503},
    )

    outcome = call(
        "function_logs",
        {"function": "chat", "severity": "WARNING", "minutes": 30, "text": 'say "hi"', "limit": 3},
    )

    assert outcome.is_error is False, outcome.result
    [request] = logging_api.requests
    assert (request.method, request.path) == ("POST", "/v2/entries:list")
    assert request.body["resourceNames"] == [f"projects/{PROJECT}"]
    assert request.body["orderBy"] == "timestamp desc"
    assert request.body["pageSize"] == 3
    query = request.body["filter"]
    assert 'resource.type = "cloud_run_revision"' in query
    assert '(resource.labels.service_name = "chat")' in query
    assert "severity >= WARNING" in query and 'timestamp >= "' in query
    assert '"say \\"hi\\""' in query  # the text, quoted and escaped
    assert outcome.result["query"] == query
    messages = [(e["severity"], e["message"]) for e in outcome.result["entries"]]
    assert messages == [
        ("ERROR", "chat run failed: model timeout"),
        ("WARNING", "plain text line"),
        ("ERROR", "POST /v1/conversations/x/messages 503"),
    ]
    assert outcome.result["entries"][0]["function"] == "chat"
    assert outcome.result["entries"][0]["revision"] == "chat-00001-aaa"


def test_logs_stop_at_the_limit_across_pages(apis: Any) -> None:
    _, logging_api, _ = apis
    for n in range(7):
        logging_api.add("webhook", "INFO", f"line {n}")

    outcome = call("function_logs", {"limit": 5})

    assert [e["message"] for e in outcome.result["entries"]] == [f"line {n}" for n in range(5)]
    query = logging_api.requests[0].body["filter"]
    assert 'resource.labels.service_name = "agents" OR' in query  # every known function
    assert "severity" not in query


# -- restart_function ----------------------------------------------------------------------


def test_restart_makes_a_new_revision_of_the_same_build_and_waits_until_it_serves(
    apis: Any,
) -> None:
    run, _, _ = apis
    run.reconcile_reads = 2  # the rollout is seen twice before it is done

    outcome = call("restart_function", {"function": "webhook"})

    assert outcome.is_error is False, outcome.result
    result = outcome.result
    assert result["previousRevision"] == "webhook-00001-bbb"
    assert result["revision"] == run.serving("webhook") == "webhook-00002-ccc"
    assert result["ready"] is True
    [patch] = patches(run)
    template = patch.body["template"]
    assert template.get("revision", "") == ""
    assert "agent-platform/restarted-at" in template["annotations"]
    assert template["containers"] == [
        {"image": "europe-docker.pkg.dev/p/webhook:build-1"}
    ]  # the same build
    assert patch.body["etag"] == '"webhook-1"'
    reads_after = [r for r in run.requests[run.requests.index(patch) :] if r.method == "GET"]
    assert len(reads_after) == 3


def test_a_restart_still_rolling_out_when_the_wait_ends_says_so(
    apis: Any, settings: Callable[..., None]
) -> None:
    run, _, _ = apis
    run.reconcile_reads = 100
    settings(PLATFORM_ROLLOUT_WAIT_SECONDS="0.2")

    outcome = call("restart_function", {"function": "webhook"})

    assert outcome.result["ready"] is False
    assert "still rolling out" in outcome.result["note"]
    assert outcome.result["revision"] == "webhook-00002-ccc"


# -- scale_function ------------------------------------------------------------------------


def test_scale_sets_the_instances_on_a_new_revision(apis: Any) -> None:
    run, _, _ = apis

    outcome = call("scale_function", {"function": "chat", "minInstances": 2})

    assert outcome.is_error is False, outcome.result
    assert outcome.result["previousInstances"] == {"minInstances": 1, "maxInstances": 40}
    assert outcome.result["instances"] == {"minInstances": 2, "maxInstances": 40}
    [patch] = patches(run)
    assert patch.body["template"]["scaling"] == {"minInstanceCount": 2, "maxInstanceCount": 40}
    assert run.services["chat"].template.scaling.min_instance_count == 2
    assert outcome.result["revision"] == run.serving("chat") == "chat-00004-eee"


def test_scaling_beyond_the_manifest_is_refused_before_any_call(apis: Any) -> None:
    run, _, _ = apis

    above = call("scale_function", {"function": "chat", "maxInstances": 41})
    crossed = call("scale_function", {"function": "webhook", "minInstances": 5, "maxInstances": 2})

    assert above.is_error and "at most 40 instances" in above.result["error"]
    assert crossed.is_error and "above maxInstances" in crossed.result["error"]
    assert run.requests == []


def test_scaling_to_what_it_already_is_changes_nothing(apis: Any) -> None:
    run, _, _ = apis

    outcome = call("scale_function", {"function": "webhook", "maxInstances": 10})

    assert outcome.result["note"].startswith("nothing to change")
    assert patches(run) == []


# -- rollback_function ---------------------------------------------------------------------


def test_rollback_moves_all_traffic_to_the_previous_ready_revision(apis: Any) -> None:
    run, _, _ = apis
    from google.cloud import run_v2

    broken = run.revisions["chat"][1]  # chat-00002: never became ready
    broken.conditions = [
        run_v2.Condition(type_="Ready", state=run_v2.Condition.State.CONDITION_FAILED)
    ]
    run.page_size = 1  # the revisions come one page at a time

    outcome = call("rollback_function", {"function": "chat"})

    assert outcome.is_error is False, outcome.result
    assert (outcome.result["previousRevision"], outcome.result["revision"]) == (
        "chat-00003-ddd",
        "chat-00001-bbb",
    )
    assert outcome.result["ready"] is True
    assert run.serving("chat") == "chat-00001-bbb"
    [patch] = patches(run)
    assert patch.body["traffic"] == [{"type": 2, "revision": "chat-00001-bbb", "percent": 100}] or (
        patch.body["traffic"]
        == [
            {
                "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                "revision": "chat-00001-bbb",
                "percent": 100,
            }
        ]
    )
    assert len(run.revisions["chat"]) == 3  # no new revision


def test_after_a_rollback_a_restart_is_refused_rather_than_undoing_it(apis: Any) -> None:
    run, _, _ = apis
    call("rollback_function", {"function": "chat"})

    outcome = call("restart_function", {"function": "chat"})

    assert outcome.is_error is True
    assert "fixed traffic split (a rollback)" in outcome.result["error"]
    assert run.serving("chat") == "chat-00002-ccc"


def test_a_function_with_one_revision_has_nothing_to_roll_back_to(apis: Any) -> None:
    outcome = call("rollback_function", {"function": "webhook"})

    assert outcome.is_error and "no ready revision older than" in outcome.result["error"]


# -- errors as the APIs answer them -------------------------------------------------------


def test_a_permission_the_deployment_lacks_is_the_tool_s_error(apis: Any) -> None:
    run, _, _ = apis
    run.fail("GET", "/services/chat$", 403, "Permission 'run.services.get' denied")

    outcome = call("restart_function", {"function": "chat"})

    assert outcome.is_error is True
    assert (
        "refused (PERMISSION_DENIED): Permission 'run.services.get' denied"
        in (outcome.result["error"])
    )
    assert "http://" not in outcome.result["error"]
    assert patches(run) == []


def test_a_change_made_meanwhile_is_a_conflict_not_an_overwrite(apis: Any) -> None:
    run, _, _ = apis
    run.fail("PATCH", "/services/chat$", 409, "etag mismatch")

    outcome = call("scale_function", {"function": "chat", "maxInstances": 30})

    assert outcome.is_error is True and "changed meanwhile" in outcome.result["error"]
    assert run.services["chat"].template.scaling.max_instance_count == 40


def test_an_unavailable_api_is_a_dependency_failure_of_the_request(apis: Any) -> None:
    run, _, _ = apis
    run.fail("GET", "/services/", 503, "backend unavailable")

    with pytest.raises(google.GoogleAPIError) as raised:
        call("platform_status", {"function": "chat"})

    assert errors.is_transient(raised.value)  # the edge answers 503 with Retry-After
    assert len([r for r in run.requests if r.method == "GET"]) > 1  # retried meanwhile


def test_monitoring_refusals_and_outages_come_back_as_grpc_answers_them(apis: Any) -> None:
    _, _, monitoring = apis
    monitoring.failure = (grpc.StatusCode.PERMISSION_DENIED, "monitoring.timeSeries.list denied")

    refused = call("platform_status", {"function": "chat"})
    monitoring.failure = (grpc.StatusCode.UNAVAILABLE, "try later")

    assert refused.is_error is True
    assert "monitoring.timeSeries.list denied" in refused.result["error"]
    with pytest.raises(google.GoogleAPIError) as raised:
        call("platform_status", {"function": "chat"})
    assert errors.is_transient(raised.value)


def test_a_logging_query_the_api_refuses_is_the_tool_s_error(apis: Any) -> None:
    _, logging_api, _ = apis
    logging_api.fail("POST", "entries:list", 400, "Unparseable filter: syntax error")

    outcome = call("function_logs", {"function": "chat"})

    assert outcome.is_error is True and "Unparseable filter" in outcome.result["error"]


# -- what_changed --------------------------------------------------------------------------


def test_what_changed_lists_new_revisions_with_deploys_alerts_and_silences(
    apis: Any, firestore_db: Any
) -> None:
    call("restart_function", {"function": "webhook"})
    call("create_silence", {"source": "chat", "durationMinutes": 30})

    outcome = call("what_changed", {"hours": 24})

    assert outcome.is_error is False, outcome.result
    revisions = [(r["function"], r["revision"]) for r in outcome.result["revisions"]]
    assert ("webhook", "webhook-00002-ccc") in revisions
    assert [s["matchers"][0]["value"] for s in outcome.result["silences"]] == ["chat"]
    assert outcome.result["deploys"] == [] and outcome.result["alerts"] == []
