"""Fixtures for the chat function: the fake Messages API, guests with agents, SSE parsing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.agents import store as agents
from shared.core import state
from tests.conftest import LoadedFunction, load_function
from tests.support.guests import Guest, new_guest
from tests.support.messages_api import FakeMessagesApi, point_model_at

Configure = Callable[..., None]


@pytest.fixture(scope="session")
def messages_server() -> Iterator[FakeMessagesApi]:
    fake = FakeMessagesApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set chat settings from the environment (names as in the README) for one test."""

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        state.reset()

    point_model_at(monkeypatch, None)  # the offline model unless a test asks for the fake
    apply()
    yield apply
    monkeypatch.undo()
    state.reset()


@pytest.fixture
def fake_api(
    messages_server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch, configure: Configure
) -> FakeMessagesApi:
    """The model layer pointed at the fake Messages API (a real key-configured SDK)."""
    messages_server.reset()
    point_model_at(monkeypatch, messages_server)
    configure()
    return messages_server


@pytest.fixture
def function(firestore_db: Any, configure: Configure) -> LoadedFunction:
    return load_function("functions/chat", "chat")


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


@dataclass
class Owner:
    guest: Guest
    agent: agents.AgentRecord

    @property
    def headers(self) -> dict[str, str]:
        return self.guest.headers


def new_owner(**agent_fields: Any) -> Owner:
    guest = new_guest()
    fields = {"name": "Helper", "system_prompt": "You are a helpful test agent.", **agent_fields}
    return Owner(guest, agents.create_agent(guest.user_id, agents.AgentCreate(**fields)))


@pytest.fixture
def owner(firestore_db: Any) -> Owner:
    return new_owner()


def start_conversation(client: Any, owner: Owner, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/conversations", json={"agentId": owner.agent.id, **fields}, headers=owner.headers
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def send(
    client: Any, owner: Owner, conversation_id: str, content: str, *, sse: bool = False
) -> Any:
    headers = {**owner.headers, **({"Accept": "text/event-stream"} if sse else {})}
    return client.post(
        f"/v1/conversations/{conversation_id}/messages", json={"content": content}, headers=headers
    )


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """`(event, data)` pairs of an SSE body."""
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in text.split("\n\n"):
        lines = [line for line in frame.splitlines() if not line.startswith(":")]  # comments
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def stored_messages(db: Any, conversation_id: str) -> list[dict[str, Any]]:
    snapshots = db.collection("conversations").document(conversation_id).collection("messages")
    return sorted((s.to_dict() for s in snapshots.stream()), key=lambda m: m["seq"])
