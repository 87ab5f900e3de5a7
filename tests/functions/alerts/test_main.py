"""The alerts entry points through functions-framework, against the emulators and a local Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.core import state
from shared.messaging import events
from shared.messaging.topics import agent_events, chat_events, deploy_events
from shared.messaging.topics.loadtest_results import COMPLETED, LoadtestCompletedData
from tests.conftest import ROOT, LoadedFunction, load_function
from tests.support.pubsub import binary_cloud_event, push_message, structured_cloud_event
from tests.support.slack_server import SlackServer, configure_alerts, running_slack

MONITORING = ROOT / "tests" / "data" / "monitoring"
ADMIN = "operator-test-token"
OPERATOR = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def slack_server(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackServer]:
    monkeypatch.setenv("ADMIN_TOKEN", ADMIN)
    state.reset()
    with running_slack() as server:
        configure_alerts(monkeypatch, server.url, ALERT_CHAT_FAILURE_THRESHOLD="3")
        yield server
    state.reset()


@pytest.fixture
def http(slack_server: SlackServer) -> Any:
    return load_function("functions/alerts", "alerts").app.test_client()


def entry(target: str) -> LoadedFunction:
    return load_function("functions/alert_intake", target, "cloudevent")


def push(
    target: str,
    topic: str,
    data: bytes,
    attributes: dict[str, str] | None = None,
    *,
    structured: bool = False,
) -> Any:
    message = push_message(data, attributes)
    build = structured_cloud_event if structured else binary_cloud_event
    headers, body = build(topic, message)
    return entry(target).app.test_client().post("/", headers=headers, data=body)


def incident(name: str, **changes: Any) -> bytes:
    payload = json.loads((MONITORING / f"{name}.json").read_text())
    payload["incident"].update(changes)
    return json.dumps(payload).encode()


def envelope(type_: str, data: dict[str, Any], source: str = "//test") -> bytes:
    return events.new_event(type_, source, "subject", data).model_dump_json().encode()


def alert_list(http: Any, **query: str) -> list[dict[str, Any]]:
    response = http.get("/v1/alerts", query_string=query, headers=OPERATOR)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: list[dict[str, Any]] = response.get_json()["alerts"]
    return result


# -- incidents ---------------------------------------------------------------------------


@pytest.mark.parametrize("structured", [False, True], ids=["binary", "structured"])
def test_incident_open_then_closed_gives_one_firing_and_one_resolved(
    slack_server: SlackServer, http: Any, structured: bool
) -> None:
    opened = push(
        "alerts_incidents", "monitoring-incidents", incident("incident_open"), structured=structured
    )
    closed = push(
        "alerts_incidents",
        "monitoring-incidents",
        incident("incident_closed"),
        structured=structured,
    )

    assert (opened.status_code, closed.status_code) == (200, 200)
    texts = slack_server.texts()
    assert len(texts) == 2
    assert texts[0].startswith("<!channel> [FIRING:1] Chat p95 latency")
    assert texts[1].startswith("[RESOLVED] Chat p95 latency")
    [alert] = alert_list(http)
    assert (alert["status"], alert["severity"], alert["source"]) == (
        "resolved",
        "critical",
        "monitoring",
    )
    detail = http.get(f"/v1/alerts/{alert['id']}", headers=OPERATOR).get_json()
    assert [n["alerts"][0]["status"] for n in detail["notifications"]] == ["resolved", "firing"]


def test_repeated_open_notification_is_not_renotified(slack_server: SlackServer) -> None:
    for _ in range(3):
        push("alerts_incidents", "monitoring-incidents", incident("incident_open"))

    assert len(slack_server.posts) == 1


def test_redelivered_message_is_processed_once(slack_server: SlackServer, http: Any) -> None:
    message = push_message(incident("incident_open"))
    headers, body = binary_cloud_event("monitoring-incidents", message)
    client = entry("alerts_incidents").app.test_client()

    client.post("/", headers=headers, data=body)
    client.post("/", headers=headers, data=body)

    [alert] = alert_list(http)
    assert alert["count"] == 1


def test_late_open_never_reopens_a_closed_incident(slack_server: SlackServer, http: Any) -> None:
    push("alerts_incidents", "monitoring-incidents", incident("incident_closed"))
    push("alerts_incidents", "monitoring-incidents", incident("incident_open"))

    [alert] = alert_list(http)
    assert alert["status"] == "resolved"
    assert slack_server.posts == []


def test_unreadable_incident_is_acked_as_poison(slack_server: SlackServer, http: Any) -> None:
    response = push("alerts_incidents", "monitoring-incidents", b'{"not": "an incident"}')

    assert response.status_code == 200
    assert alert_list(http) == []


def test_slack_down_makes_the_push_fail_so_pubsub_redelivers(slack_server: SlackServer) -> None:
    slack_server.fail(503)

    response = push("alerts_incidents", "monitoring-incidents", incident("incident_open"))

    assert response.status_code == 500
    assert slack_server.posts == []


# -- deploy events, chat failures, load tests, dead letters -------------------------------


def test_deploy_requested_is_notified_and_listed(slack_server: SlackServer, http: Any) -> None:
    data = {
        "repository": "acme/agent-platform",
        "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "ref": "refs/heads/main",
        "actor": "octocat",
        "deliveryId": "d-1",
        "occurredAt": datetime.now(UTC).isoformat(),
        "environment": "staging",
        "trigger": "push",
    }

    response = push("alerts_deploys", deploy_events.TOPIC, envelope(deploy_events.REQUESTED, data))

    assert response.status_code == 200
    [text] = slack_server.texts()
    assert "Deploy of acme/agent-platform 6dcb09b to staging requested by octocat" in str(
        slack_server.posts[0]
    )
    assert "<!" not in text
    [alert] = alert_list(http)
    assert alert["labels"]["alertname"] == "DeployRequested"


def test_deploy_event_with_bad_data_is_dropped_as_poison(slack_server: SlackServer) -> None:
    response = push(
        "alerts_deploys", deploy_events.TOPIC, envelope(deploy_events.REQUESTED, {"sha": 1})
    )

    assert response.status_code == 200
    assert slack_server.posts == []


def chat_event(type_: str, agent: str) -> bytes:
    data = {
        "agentId": agent,
        "userId": "u1",
        "conversationId": "c1",
        "messageId": "m1",
        "model": "offline",
        "outcome": "failed" if type_ == chat_events.RUN_FAILED else "completed",
        "errorCode": "upstream_failed",
        "finishedAt": datetime.now(UTC).isoformat(),
    }
    return envelope(type_, data)


def test_chat_failures_alert_once_the_threshold_is_reached(slack_server: SlackServer) -> None:
    statuses = []
    for _ in range(2):
        statuses.append(
            push(
                "alerts_chat_failures",
                chat_events.TOPIC,
                chat_event(chat_events.RUN_FAILED, "agt_1"),
            ).status_code
        )
    before = len(slack_server.posts)
    push("alerts_chat_failures", chat_events.TOPIC, chat_event(chat_events.RUN_COMPLETED, "agt_1"))
    push("alerts_chat_failures", chat_events.TOPIC, chat_event(chat_events.RUN_FAILED, "agt_2"))
    for _ in range(2):
        push("alerts_chat_failures", chat_events.TOPIC, chat_event(chat_events.RUN_FAILED, "agt_1"))

    assert statuses == [200, 200]
    assert before == 0
    [text] = slack_server.texts()
    assert "[FIRING:1] ChatRunFailures" in text
    assert "agt_1" in str(slack_server.posts[0])


def loadtest(verdict: str, regression: bool) -> bytes:
    """A `loadtest.completed` event as the load-test function publishes it."""
    data = LoadtestCompletedData(
        run_id="run_1",
        scenario="chat-stream",
        verdict=verdict,  # type: ignore[arg-type]
        regression=regression,
        breaches=["POST /v1/conversations/{id}/messages: p95 2400 ms > 2000 ms"],
        regressions=[],
        endpoints={},
    )
    return envelope(COMPLETED, data.model_dump(mode="json", by_alias=True))


def test_load_test_failure_fires_and_a_pass_resolves(slack_server: SlackServer, http: Any) -> None:
    push("alerts_loadtests", "loadtest-results", loadtest("fail", regression=False))
    push("alerts_loadtests", "loadtest-results", loadtest("pass", regression=False))

    texts = slack_server.texts()
    assert len(texts) == 2
    assert "[FIRING:1] LoadTestFailed" in texts[0]
    assert "[RESOLVED] LoadTestFailed" in texts[1]


def test_load_test_regression_alone_fires(slack_server: SlackServer) -> None:
    push("alerts_loadtests", "loadtest-results", loadtest("pass", regression=True))

    assert "[FIRING:1] LoadTestFailed" in slack_server.texts()[0]


def test_dead_letter_becomes_an_alert_naming_its_subscription(
    slack_server: SlackServer, http: Any
) -> None:
    original = envelope(deploy_events.REQUESTED, {"repository": "acme/x"})
    attributes = {
        "CloudPubSubDeadLetterSourceSubscription": "alerts-deploys",
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    }

    response = push("alerts_dead_letters", "deploy-events-dead-letter", original, attributes)

    assert response.status_code == 200
    [alert] = alert_list(http)
    assert alert["labels"]["alertname"] == "DeadLetter"
    assert alert["labels"]["subscription"] == "alerts-deploys"
    assert alert["labels"]["topic"] == "deploy-events"
    assert "deploy.requested" in alert["summary"]
    assert len(slack_server.posts) == 1


def test_a_dead_agent_event_becomes_an_alert_naming_the_cleanup_subscription(
    slack_server: SlackServer, http: Any
) -> None:
    """A deleted agent whose conversations could not be erased is an operator's matter."""
    original = envelope(agent_events.DELETED, {"agentId": "agt_1", "userId": "usr_1"})
    attributes = {
        "CloudPubSubDeadLetterSourceSubscription": "agent-cleanup",
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    }

    response = push("alerts_dead_letters", "agent-events-dead-letter", original, attributes)

    assert response.status_code == 200
    [alert] = alert_list(http)
    assert alert["labels"]["alertname"] == "DeadLetter"
    assert (alert["labels"]["subscription"], alert["labels"]["topic"]) == (
        "agent-cleanup",
        "agent-events",
    )
    assert agent_events.DELETED in alert["summary"]
    assert len(slack_server.posts) == 1


# -- HTTP ---------------------------------------------------------------------------------


def test_alert_routes_need_the_operator_token(http: Any) -> None:
    assert http.get("/v1/alerts").status_code == 401
    assert http.get("/v1/alerts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert http.get("/v1/alerts/silences").status_code == 401


def test_alert_routes_answer_401_when_no_admin_token_is_configured(
    http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADMIN_TOKEN")
    state.reset()

    assert http.get("/v1/alerts", headers=OPERATOR).status_code == 401


def test_unknown_alert_is_404(http: Any) -> None:
    assert http.get("/v1/alerts/abc123", headers=OPERATOR).status_code == 404


def test_alerts_filter_by_status_and_page(slack_server: SlackServer, http: Any) -> None:
    push("alerts_incidents", "monitoring-incidents", incident("incident_open"))
    push("alerts_incidents", "monitoring-incidents", incident("incident_open", incident_id="0.b"))
    push("alerts_incidents", "monitoring-incidents", incident("incident_closed", incident_id="0.c"))

    first = http.get("/v1/alerts?limit=1", headers=OPERATOR).get_json()
    second = http.get(
        f"/v1/alerts?limit=5&pageToken={first['nextPageToken']}", headers=OPERATOR
    ).get_json()

    assert len(alert_list(http, status="firing")) == 2
    assert len(alert_list(http, status="resolved")) == 1
    assert len(first["alerts"]) == 1
    assert second["nextPageToken"] is None
    assert {a["id"] for a in first["alerts"] + second["alerts"]} == {
        a["id"] for a in alert_list(http)
    }


def test_silence_lifecycle_through_the_routes(slack_server: SlackServer, http: Any) -> None:
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = http.post(
        "/v1/alerts/silences",
        headers=OPERATOR,
        json={
            "matchers": [{"name": "alertname", "value": "Chat p95 latency"}],
            "endsAt": ends,
            "comment": "deploying a fix",
            "createdBy": "ops@example.test",
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    silence = created.get_json()

    push("alerts_incidents", "monitoring-incidents", incident("incident_open"))
    listed = http.get("/v1/alerts/silences", headers=OPERATOR).get_json()["silences"]
    deleted = http.delete(f"/v1/alerts/silences/{silence['id']}", headers=OPERATOR)
    after = http.get("/v1/alerts/silences", headers=OPERATOR).get_json()["silences"]

    assert silence["status"] == "active"
    assert slack_server.posts == []
    [alert] = alert_list(http)
    assert alert["silencedBy"] == [silence["id"]]
    assert [s["id"] for s in listed] == [silence["id"]]
    assert deleted.status_code == 204
    assert after[0]["status"] == "expired"


def test_a_silence_is_expired_only_with_its_current_etag(http: Any) -> None:
    body = {
        "matchers": [{"name": "alertname", "value": "x"}],
        "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "comment": "maintenance",
    }
    created = http.post(
        "/v1/alerts/silences", headers={**OPERATOR, "Idempotency-Key": "s1"}, json=body
    )
    again = http.post(
        "/v1/alerts/silences", headers={**OPERATOR, "Idempotency-Key": "s1"}, json=body
    )
    url = f"/v1/alerts/silences/{created.get_json()['id']}"

    stale = http.delete(url, headers={**OPERATOR, "If-Match": '"stale"'})
    still = http.get("/v1/alerts/silences", headers=OPERATOR).get_json()["silences"]
    current = http.delete(url, headers={**OPERATOR, "If-Match": created.headers["ETag"]})
    late = http.delete(url, headers={**OPERATOR, "If-Match": created.headers["ETag"]})

    assert again.get_json() == created.get_json() and len(still) == 1
    assert stale.status_code == 412 and still[0]["status"] == "active"
    assert current.status_code == 204
    assert late.status_code == 412  # expired since: another version


@pytest.mark.parametrize(
    "body",
    [
        {"matchers": [], "endsAt": "2099-01-01T00:00:00Z", "comment": "x"},
        {
            "matchers": [{"name": "a", "value": "b"}],
            "endsAt": "2000-01-01T00:00:00Z",
            "comment": "x",
        },
        {
            "matchers": [{"name": "a", "value": "(", "isRegex": True}],
            "endsAt": "2099-01-01T00:00:00Z",
            "comment": "x",
        },
        {
            "matchers": [{"name": "a", "value": "b"}],
            "endsAt": "2099-01-01T00:00:00",
            "comment": "no time zone",
        },
    ],
    ids=["no-matchers", "in-the-past", "bad-regex", "naive-time"],
)
def test_invalid_silences_are_400(http: Any, body: dict[str, Any]) -> None:
    response = http.post("/v1/alerts/silences", headers=OPERATOR, json=body)

    assert response.status_code == 400


def test_expiring_an_unknown_silence_is_404(http: Any) -> None:
    response = http.delete("/v1/alerts/silences/sil_unknown", headers=OPERATOR)

    assert response.status_code == 404


def test_openapi_lists_the_operator_routes(http: Any) -> None:
    document = http.get("/openapi.json").get_json()

    assert {
        "/v1/alerts",
        "/v1/alerts/{alertId}",
        "/v1/alerts/silences",
        "/v1/alerts/silences/{silenceId}",
    } <= set(document["paths"])
