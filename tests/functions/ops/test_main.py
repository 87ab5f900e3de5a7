"""Ops commands through functions-framework: plans, read-only runs, confirmation once,
refusals with their reason, and who asked."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.core import state
from tests.conftest import E2E_ADMIN_TOKEN, load_function
from tests.support.messages_api import FakeMessagesApi, point_model_at

OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    state.reset()


@pytest.fixture
def client(firestore_db: Any, offline: None) -> Any:
    return load_function("functions/ops", "ops").app.test_client()


def command(client: Any, text: str) -> dict[str, Any]:
    response = client.post("/v1/ops/commands", json={"text": text}, headers=OPERATOR)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def silences(db: Any) -> list[dict[str, Any]]:
    return [s.to_dict() for s in db.collection("silences").stream()]


def test_a_korean_command_to_mute_chat_alerts_is_planned_and_waits(
    client: Any, firestore_db: Any
) -> None:
    body = command(client, "채팅 알림을 한 시간 동안 꺼줘")

    assert body["status"] == "awaiting_confirmation"
    assert body["plan"] == {
        "tool": "create_silence",
        "arguments": {
            "source": "chat",
            "durationMinutes": 60,
            "comment": "silenced by an ops command",
        },
        "summary": "create_silence(source=chat, durationMinutes=60, "
        "comment=silenced by an ops command)",
        "changes": True,
    }
    assert body["plannedBy"] == "offline"
    assert body["requestedBy"] == "operator (token)" and body["reason"] is None
    assert silences(firestore_db) == []  # nothing happens before the confirmation
    stored = client.get(f"/v1/ops/commands/{body['id']}", headers=OPERATOR).get_json()
    assert stored["status"] == "awaiting_confirmation"
    assert stored["requestedBy"] == "operator (token)"


def test_two_confirmations_run_the_plan_exactly_once(client: Any, firestore_db: Any) -> None:
    planned = command(client, "mute deploy alerts for 30 minutes")
    confirm = f"/v1/ops/commands/{planned['id']}/confirm"

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.post(confirm, headers=OPERATOR), range(2)))
    again = client.post(confirm, headers=OPERATOR)

    assert [a.status_code for a in answers] + [again.status_code] == [200, 200, 200]
    [silence] = silences(firestore_db)
    assert silence["matchers"][0]["value"] == "deploy"
    assert again.get_json()["status"] == "done"
    assert again.get_json()["result"]["id"].startswith("sil_")
    assert again.get_json()["confirmedBy"] == "operator (token)"


def test_a_confirmation_that_loses_the_race_answers_the_winner_s_result(
    client: Any, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.tools import registry

    planned = command(client, "mute chat alerts for 2 hours")
    confirm = f"/v1/ops/commands/{planned['id']}/confirm"
    execute = registry.execute

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)  # the loser arrives while the winner runs the tool
        return execute(*args, **kwargs)

    monkeypatch.setattr(registry, "execute", slow)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, confirm, headers=OPERATOR)
        time.sleep(0.3)
        second = pool.submit(client.post, confirm, headers=OPERATOR)
        answers = [first.result().get_json(), second.result().get_json()]

    assert [a["status"] for a in answers] == ["done", "done"]
    assert answers[0]["result"] == answers[1]["result"]
    assert len(silences(firestore_db)) == 1


def test_a_read_only_command_runs_at_once(client: Any) -> None:
    body = command(client, "show me the active alerts")

    assert body["status"] == "done" and body["plan"]["changes"] is False
    assert body["result"] == {"alerts": []}


def test_a_command_no_tool_fits_is_unrecognised_and_cannot_be_confirmed(client: Any) -> None:
    body = command(client, "what is the capital of France?")
    confirmed = client.post(f"/v1/ops/commands/{body['id']}/confirm", headers=OPERATOR)

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert body["reason"]
    assert confirmed.status_code == 409


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("don't silence the chat alerts", "negated: the command says not to do it"),
        ("채팅 알림 끄지 마", "negated: the command says not to do it"),
        ("stop the load test", "no tool can stop a running load test"),
        ("delete all silences", "no tool ends every silence at once"),
        ("sil_0a1b2c3d4e5f 연장해줘", "no tool extends a silence"),
        ("roll back the last deploy", "rollback_function needs the platform function"),
        ("restart chat and the webhook", "restart_function acts on one function"),
        ("scale the chat function to 10 instances", "the command gives 10 instances but not"),
        ("don't restart the chat function", "negated: the command says not to do it"),
        ("mute alerts for an hour", "create_silence needs the alert source"),
        ("run a load test", "start_loadtest needs a scenario"),
        ("unmute the chat alerts", "expire_silence needs the silence's id"),
        ("mute chat alerts for two weeks", "a silence lasts 1 minute to 7 days"),
    ],
)
def test_a_refused_command_stores_its_reason_and_get_shows_it(
    client: Any, firestore_db: Any, text: str, reason: str
) -> None:
    body = command(client, text)
    stored = client.get(f"/v1/ops/commands/{body['id']}", headers=OPERATOR).get_json()

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert stored["reason"].startswith(reason) and stored["reason"] == body["reason"]
    assert silences(firestore_db) == []


def identity_token(claims: dict[str, Any]) -> str:
    """A JWT as Cloud Run passes it on: header.payload.signature (not checked here)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_behind_cloud_run_iam_the_command_records_the_caller_s_email(
    client: Any, settings: Any
) -> None:
    settings(OPERATOR_AUTH="iam", ADMIN_TOKEN=None)
    token = identity_token({"email": "ops@example.com", "sub": "1234"})

    planned = client.post(
        "/v1/ops/commands",
        json={"text": "mute chat alerts for an hour"},
        headers={"Authorization": f"Bearer {token}"},
    ).get_json()
    confirmed = client.post(
        f"/v1/ops/commands/{planned['id']}/confirm",
        headers={"Authorization": f"Bearer {identity_token({'email': 'lead@example.com'})}"},
    ).get_json()
    stored = client.get(f"/v1/ops/commands/{planned['id']}").get_json()

    assert planned["requestedBy"] == "ops@example.com"
    assert (stored["requestedBy"], stored["confirmedBy"]) == (
        "ops@example.com",
        "lead@example.com",
    )
    assert confirmed["status"] == "done"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {identity_token({'sub': '1234'})}"},
        {"Authorization": f"Bearer {identity_token({'email': 'no at sign'})}"},
    ],
)
def test_behind_cloud_run_iam_a_token_without_an_email_is_recorded_as_operator_iam(
    client: Any, settings: Any, headers: dict[str, str]
) -> None:
    settings(OPERATOR_AUTH="iam", ADMIN_TOKEN=None)

    body = client.post("/v1/ops/commands", json={"text": "list alerts"}, headers=headers)

    assert body.get_json()["requestedBy"] == "operator (iam)"


def test_the_token_cloud_run_verified_in_x_serverless_authorization_is_read_first(
    client: Any, settings: Any
) -> None:
    settings(OPERATOR_AUTH="iam", ADMIN_TOKEN=None)
    headers = {
        "X-Serverless-Authorization": f"Bearer {identity_token({'email': 'real@example.com'})}",
        "Authorization": f"Bearer {identity_token({'email': 'claimed@example.com'})}",
    }

    body = client.post("/v1/ops/commands", json={"text": "list alerts"}, headers=headers)

    assert body.get_json()["requestedBy"] == "real@example.com"


def test_guests_and_anonymous_callers_are_refused(client: Any) -> None:
    anonymous = client.post("/v1/ops/commands", json={"text": "list alerts"})
    guest = client.post(
        "/v1/ops/commands",
        json={"text": "list alerts"},
        headers={"Authorization": "Bearer " + "a" * 43},
    )

    assert (anonymous.status_code, guest.status_code) == (401, 401)


def test_an_unknown_command_id_is_404(client: Any) -> None:
    assert client.get("/v1/ops/commands/opc_nope", headers=OPERATOR).status_code == 404


def test_with_a_key_claude_picks_the_tool_through_tool_use(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeMessagesApi().start()
    try:
        point_model_at(monkeypatch, fake)
        fake.tool_use = {"name": "start_loadtest", "input": {"scenario": "light"}}
        client = load_function("functions/ops", "ops").app.test_client()

        body = command(client, "run the light load test again")

        request = fake.requests[-1].body
    finally:
        fake.stop()
        monkeypatch.undo()
        state.reset()
    assert body["plan"]["tool"] == "start_loadtest" and body["plan"]["changes"] is True
    assert body["plan"]["arguments"] == {"scenario": "light"}
    assert body["plannedBy"] == "claude-sonnet-4-6" and body["status"] == "awaiting_confirmation"
    assert {t["name"] for t in request["tools"]} >= {"create_silence", "start_loadtest"}
    assert request["messages"] == [{"role": "user", "content": "run the light load test again"}]
    system = json.dumps(request["system"], ensure_ascii=False)
    assert "Negation means no tool" in system and "call no tool" in system


@pytest.fixture
def model(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """The ops function planning through the local Messages API server."""
    fake = FakeMessagesApi().start()
    point_model_at(monkeypatch, fake)
    try:
        yield fake, load_function("functions/ops", "ops").app.test_client()
    finally:
        fake.stop()
        monkeypatch.undo()
        state.reset()


def test_when_the_model_asks_for_two_tools_nothing_is_planned_and_the_reason_names_them(
    model: tuple[Any, Any], firestore_db: Any
) -> None:
    fake, client = model
    fake.tool_use = {"name": "create_silence", "input": {"source": "chat"}}
    fake.more_tool_uses = [{"name": "create_silence", "input": {"source": "deploy"}}]

    body = command(client, "mute chat and deploy alerts")

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert "2 tool calls (create_silence, create_silence)" in body["reason"]
    assert silences(firestore_db) == []


def test_when_the_model_calls_no_tool_its_sentence_is_the_reason(
    model: tuple[Any, Any],
) -> None:
    fake, client = model
    fake.reply = "No tool can stop a running load test."

    body = command(client, "stop the load test")
    stored = client.get(f"/v1/ops/commands/{body['id']}", headers=OPERATOR).get_json()

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert stored["reason"] == "No tool can stop a running load test."


def test_a_changing_plan_from_the_model_is_not_made_for_a_negated_command(
    model: tuple[Any, Any],
) -> None:
    fake, client = model
    fake.tool_use = {"name": "create_silence", "input": {"source": "chat"}}

    body = command(client, "don't silence the chat alerts")

    assert (body["status"], body["reason"]) == (
        "unrecognised",
        "negated: the command says not to do it",
    )


def test_arguments_the_tool_refuses_are_no_plan_with_what_was_wrong(
    model: tuple[Any, Any],
) -> None:
    fake, client = model
    fake.tool_use = {"name": "create_silence", "input": {"source": "weather"}}

    body = command(client, "mute the weather alerts")

    assert body["status"] == "unrecognised" and "source" in body["reason"]


def test_a_confirmed_run_that_fails_on_the_way_is_stored_as_failed(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.core import errors
    from shared.tools import registry

    planned = command(client, "mute deploy alerts for 30 minutes")

    def firestore_down(*args: Any) -> Any:
        raise errors.DependencyUnavailable("Firestore did not answer; retry", retry_after=1)

    monkeypatch.setattr(registry, "execute", firestore_down)  # the dependency, not the code
    answer = client.post(f"/v1/ops/commands/{planned['id']}/confirm", headers=OPERATOR)
    stored = client.get(f"/v1/ops/commands/{planned['id']}", headers=OPERATOR).get_json()

    assert answer.status_code == 503
    assert stored["status"] == "failed" and "did not answer" in stored["error"]


def test_confirming_has_the_budget_of_a_tool_call_that_runs_a_load_test(
    client: Any, settings: Any
) -> None:
    from shared.tools import registry

    settings(LOADTEST_RUN_DEADLINE_SECONDS="77")
    api = load_function("functions/ops", "ops").module.api
    confirm = next(r for r in api.routes.values() if r.path.endswith("/confirm"))

    assert confirm.deadline is not None and confirm.deadline() == 77.0
    assert registry.call_deadline_seconds() == 77.0


# -- the platform's own functions (here on Google's APIs, served by local fakes) ----------


@pytest.fixture
def cloud(firestore_db: Any, settings: Any) -> Iterator[Any]:
    """The ops function acting on Cloud Run, Logging and Monitoring stand-ins."""
    from tests.support.google_apis import google_apis

    with google_apis("demo-agent-platform-test", "europe-west1") as (run, logging_api, metrics):
        run.add_service("chat", revisions=2, min_instances=1, max_instances=40)
        run.add_service("webhook", revisions=2, max_instances=10)
        settings(
            PLATFORM_ADAPTER="google",
            PLATFORM_REGION="europe-west1",
            PLATFORM_RUN_ENDPOINT=run.url,
            PLATFORM_LOGGING_ENDPOINT=logging_api.url,
            PLATFORM_MONITORING_ENDPOINT=metrics.endpoint,
            PLATFORM_ROLLOUT_POLL_SECONDS="0.05",
        )
        yield run, logging_api, metrics


def test_how_is_chat_doing_answers_its_status_at_once(client: Any, cloud: Any) -> None:
    body = command(client, "how is chat doing")

    assert body["status"] == "done" and body["plan"]["tool"] == "platform_status"
    assert body["plan"]["arguments"] == {"function": "chat", "minutes": 60}
    [chat] = body["result"]["functions"]
    assert (chat["function"], chat["servingRevision"]) == ("chat", "chat-00002-ccc")


def test_a_korean_command_reads_a_function_s_logs(client: Any, cloud: Any) -> None:
    _, logging_api, _ = cloud
    logging_api.add("agents", "ERROR", "store unavailable")

    body = command(client, "에이전트 함수 에러 로그 보여줘")

    assert body["plan"]["arguments"]["function"] == "agents"
    assert body["plan"]["arguments"]["severity"] == "ERROR"
    assert body["result"]["entries"][0]["message"] == "store unavailable"


def test_a_restart_waits_for_confirmation_records_who_and_runs_once(
    client: Any, cloud: Any
) -> None:
    run, _, _ = cloud
    planned = command(client, "restart the webhook")

    assert planned["status"] == "awaiting_confirmation"
    assert planned["plan"]["summary"] == "restart_function(function=webhook)"
    assert [r for r in run.requests if r.method == "PATCH"] == []
    confirm = f"/v1/ops/commands/{planned['id']}/confirm"
    first = client.post(confirm, headers=OPERATOR).get_json()
    again = client.post(confirm, headers=OPERATOR).get_json()

    assert first["status"] == "done" and first["confirmedBy"] == "operator (token)"
    assert first["result"]["revision"] == run.serving("webhook") == "webhook-00003-ddd"
    assert again["result"] == first["result"]
    assert len([r for r in run.requests if r.method == "PATCH"]) == 1


def test_scaling_past_the_manifest_is_no_plan_with_the_bound(client: Any, cloud: Any) -> None:
    body = command(client, "채팅 최대 인스턴스 50으로")

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert "chat scales to at most 40 instances" in body["reason"]


def test_korean_min_instances_for_chat_is_a_scale_plan(client: Any, cloud: Any) -> None:
    run, _, _ = cloud
    planned = command(client, "채팅 최소 인스턴스 2로")

    confirmed = client.post(
        f"/v1/ops/commands/{planned['id']}/confirm", headers=OPERATOR
    ).get_json()

    assert planned["plan"]["arguments"] == {"function": "chat", "minInstances": 2}
    assert confirmed["result"]["instances"] == {"minInstances": 2, "maxInstances": 40}
    assert run.services["chat"].template.scaling.min_instance_count == 2


def test_rolling_back_the_webhook_moves_its_traffic_after_confirmation(
    client: Any, cloud: Any
) -> None:
    run, _, _ = cloud
    planned = command(client, "roll back the webhook")

    confirmed = client.post(
        f"/v1/ops/commands/{planned['id']}/confirm", headers=OPERATOR
    ).get_json()

    assert planned["plan"]["tool"] == "rollback_function" and planned["plan"]["changes"]
    assert confirmed["status"] == "done"
    assert run.serving("webhook") == "webhook-00001-bbb"


def test_a_refused_change_is_stored_as_failed_with_the_api_s_reason(
    client: Any, cloud: Any
) -> None:
    run, _, _ = cloud
    run.fail("PATCH", "/services/chat$", 403, "Permission 'run.services.update' denied")
    planned = command(client, "restart the chat function")

    confirmed = client.post(f"/v1/ops/commands/{planned['id']}/confirm", headers=OPERATOR)

    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "failed"
    assert "run.services.update" in confirmed.get_json()["error"]


def test_the_model_may_plan_a_function_tool_too(model: tuple[Any, Any], cloud: Any) -> None:
    fake, client = model
    fake.tool_use = {"name": "restart_function", "input": {"function": "webhook"}}

    body = command(client, "give the webhook a kick")

    assert body["plan"]["tool"] == "restart_function" and body["plannedBy"] != "offline"
    assert body["status"] == "awaiting_confirmation"
    system = json.dumps(fake.requests[-1].body["system"], ensure_ascii=False)
    assert "restart_function" in system and "에이전트 함수" in system
