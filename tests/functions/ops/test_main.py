"""Ops commands through functions-framework: plans, read-only runs, confirmation once."""

from __future__ import annotations

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
    assert silences(firestore_db) == []  # nothing happens before the confirmation
    stored = client.get(f"/v1/ops/commands/{body['id']}", headers=OPERATOR).get_json()
    assert stored["status"] == "awaiting_confirmation"


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


def test_a_read_only_command_runs_at_once(client: Any) -> None:
    body = command(client, "show me the active alerts")

    assert body["status"] == "done" and body["plan"]["changes"] is False
    assert body["result"] == {"alerts": []}


def test_a_command_no_tool_fits_is_unrecognised_and_cannot_be_confirmed(client: Any) -> None:
    body = command(client, "what is the capital of France?")
    confirmed = client.post(f"/v1/ops/commands/{body['id']}/confirm", headers=OPERATOR)

    assert (body["status"], body["plan"]) == ("unrecognised", None)
    assert confirmed.status_code == 409


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
