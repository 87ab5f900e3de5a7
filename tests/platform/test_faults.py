"""Firestore failing in the middle of a request: a 503 with Retry-After, and afterwards
the database holds exactly what it held before (no half-written request is visible).

The failure is injected at the client library's write calls (`tests/support/faults.py`),
so everything up to the failing write runs for real against the emulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.agents import store as agents
from tests.conftest import E2E_ADMIN_TOKEN
from tests.platform.http_functions import loaded
from tests.support.faults import firestore_unavailable
from tests.support.guests import Guest, new_guest

OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}

# (function, method, path template, body, operator route); {agent} and {conversation}
# belong to the guest of the fixture below, {tomorrow} is a day from now.
WRITES: list[tuple[str, str, str, dict[str, Any] | None, bool]] = [
    ("guest-session", "POST", "/v1/sessions", None, False),
    ("guest-session", "DELETE", "/v1/sessions/current", None, False),
    ("agents", "POST", "/v1/agents", {"name": "New"}, False),
    ("agents", "PATCH", "/v1/agents/{agent}", {"name": "Renamed"}, False),
    ("agents", "DELETE", "/v1/agents/{agent}", None, False),
    ("chat", "POST", "/v1/conversations", {"agentId": "{agent}"}, False),
    ("chat", "POST", "/v1/conversations/{conversation}/messages", {"content": "hi"}, False),
    ("chat", "DELETE", "/v1/conversations/{conversation}", None, False),
    (
        "alerts",
        "POST",
        "/v1/alerts/silences",
        {
            "matchers": [{"name": "alertname", "value": "X"}],
            "startsAt": "2026-11-22T00:00:00Z",
            "endsAt": "{tomorrow}",
            "comment": "maintenance",
            "createdBy": "ops",
        },
        True,
    ),
]


def snapshot(db: Any) -> dict[str, Any]:
    """Every document in the emulator, with its subcollections."""
    found: dict[str, Any] = {}

    def walk(collection: Any) -> None:
        for document in collection.stream():
            found[document.reference.path] = document.to_dict()
            for sub in document.reference.collections():
                walk(sub)

    for collection in db.collections():
        walk(collection)
    return found


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, ids) for value in template]
    return template


@pytest.fixture
def world(firestore_db: Any) -> tuple[Guest, dict[str, str]]:
    guest = new_guest()
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="Mine", model="offline"))
    chat = loaded("chat").app.test_client()
    conversation = chat.post(
        "/v1/conversations", json={"agentId": agent.id}, headers=guest.headers
    ).get_json()["id"]
    sent = chat.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": "hello"},
        headers=guest.headers,
    )
    assert sent.status_code == 200
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return guest, {"agent": agent.id, "conversation": conversation, "tomorrow": tomorrow}


@pytest.mark.parametrize(
    ("function", "method", "path", "body", "operator"),
    WRITES,
    ids=[f"{m} {p}" for _, m, p, _, _ in WRITES],
)
def test_firestore_failing_mid_request_is_a_503_and_leaves_no_trace(
    firestore_db: Any,
    world: tuple[Guest, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    operator: bool,
) -> None:
    guest, ids = world
    client = loaded(function).app.test_client()
    before = snapshot(firestore_db)

    with firestore_unavailable(monkeypatch) as faults:
        response = client.open(
            fill(path, ids),
            method=method,
            json=fill(body, ids),
            headers=OPERATOR if operator else guest.headers,
        )

    assert faults["failed"] >= 1, "the request should have tried to write"
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "unavailable"
    assert snapshot(firestore_db) == before
