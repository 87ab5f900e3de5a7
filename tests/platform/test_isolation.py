"""One guest cannot see or change another's resources, and dead sessions open nothing.

Table-driven: every route that takes a resource id is tried by a second guest against the
first guest's agent and conversation; each answers 404 and the first guest's documents
stay exactly as they were.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.agents import store as agents
from shared.identity import sessions
from tests.platform.http_functions import HTTP_ENTRIES, loaded
from tests.support.guests import Guest, new_guest

# (function, method, path template, JSON body); {agent} and {conversation} are the first
# guest's ids.
FOREIGN_ROUTES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("agents", "GET", "/v1/agents/{agent}", None),
    ("agents", "PATCH", "/v1/agents/{agent}", {"name": "taken over"}),
    ("agents", "DELETE", "/v1/agents/{agent}", None),
    ("chat", "POST", "/v1/conversations", {"agentId": "{agent}"}),
    ("chat", "GET", "/v1/conversations?agentId={agent}", None),
    ("chat", "GET", "/v1/conversations/{conversation}", None),
    ("chat", "DELETE", "/v1/conversations/{conversation}", None),
    ("chat", "POST", "/v1/conversations/{conversation}/messages", {"content": "hello?"}),
    ("chat", "GET", "/v1/conversations/{conversation}/messages", None),
]


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    return template


def documents_of(db: Any, agent_id: str, conversation_id: str) -> dict[str, Any]:
    agent = db.collection("agents").document(agent_id)
    conversation = db.collection("conversations").document(conversation_id)
    return {
        "agent": agent.get().to_dict(),
        "conversation": conversation.get().to_dict(),
        "messages": sorted(str(s.to_dict()) for s in conversation.collection("messages").stream()),
    }


@pytest.fixture
def first_guest_world(firestore_db: Any) -> dict[str, str]:
    """The first guest's agent and a conversation with one exchange in it."""
    owner = new_guest()
    agent = agents.create_agent(owner.user_id, agents.AgentCreate(name="Mine", model="offline"))
    chat = loaded("chat").app.test_client()
    created = chat.post("/v1/conversations", json={"agentId": agent.id}, headers=owner.headers)
    conversation_id = created.get_json()["id"]
    sent = chat.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": "remember this"},
        headers=owner.headers,
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)
    return {"agent": agent.id, "conversation": conversation_id}


@pytest.mark.parametrize(
    ("function", "method", "path", "body"),
    FOREIGN_ROUTES,
    ids=[f"{m} {p}" for _, m, p, _ in FOREIGN_ROUTES],
)
def test_second_guest_gets_404_and_changes_nothing(
    firestore_db: Any,
    first_guest_world: dict[str, str],
    function: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    before = documents_of(
        firestore_db, first_guest_world["agent"], first_guest_world["conversation"]
    )
    intruder = new_guest()
    client = loaded(function).app.test_client()

    response = client.open(
        fill(path, first_guest_world),
        method=method,
        json=fill(body, first_guest_world),
        headers=intruder.headers,
    )

    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "not_found"
    after = documents_of(
        firestore_db, first_guest_world["agent"], first_guest_world["conversation"]
    )
    assert after == before


def session_operations() -> list[tuple[str, str, str]]:
    """(function, method, path) of every operation that takes a guest session."""
    found = []
    for entry in HTTP_ENTRIES:
        if entry.access == "operators":
            continue
        document = loaded(entry.name).app.test_client().get("/openapi.json").get_json()
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                if operation.get("security"):
                    found.append((entry.name, method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


SESSION_OPERATIONS = session_operations()


def revoked_guest() -> Guest:
    guest = new_guest()
    token_hash = sessions.hash_token(guest.token)
    principal = sessions.find_live_session(token_hash)
    assert principal is not None
    sessions.revoke_session(principal)
    return guest


def expired_guest(db: Any) -> Guest:
    guest = new_guest()
    db.collection("sessions").document(sessions.hash_token(guest.token)).update(
        {"expiresAt": datetime.now(UTC) - timedelta(minutes=1)}
    )
    return guest


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_dead_sessions_are_refused_by_every_function(firestore_db: Any, state: str) -> None:
    guest = revoked_guest() if state == "revoked" else expired_guest(firestore_db)
    functions_seen = {name for name, _, _ in SESSION_OPERATIONS}

    statuses = {
        f"{name} {method} {path}": loaded(name)
        .app.test_client()
        .open(path, method=method, headers=guest.headers, json={})
        .status_code
        for name, method, path in SESSION_OPERATIONS
    }

    assert functions_seen >= {"guest-session", "agents", "chat", "persona-router"}
    assert set(statuses.values()) == {401}, statuses
