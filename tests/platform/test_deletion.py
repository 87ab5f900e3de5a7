"""Deletion on the real stack: a deleted agent leaves no document behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import RunningStack


@pytest.fixture
def http(local_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=60) as client:
        yield client


def stored(stack: RunningStack, path: str) -> list[dict[str, Any]]:
    """Every document of a collection, read from the stack's Firestore emulator (REST)."""
    base = f"http://127.0.0.1:{stack.ports[1]}/v1/projects/{stack.project}"
    url = f"{base}/databases/(default)/documents/{path}"
    documents: list[dict[str, Any]] = []
    page: dict[str, str] = {"pageSize": "300"}
    while True:
        listed = httpx.get(url, params=page, headers={"Authorization": "Bearer owner"}, timeout=10)
        listed.raise_for_status()
        body = listed.json()
        documents += body.get("documents", [])
        if not body.get("nextPageToken"):
            return documents
        page["pageToken"] = body["nextPageToken"]


def documents_of(stack: RunningStack, agent_id: str, conversation_ids: list[str]) -> int:
    left = sum(1 for d in stored(stack, "agents") if d["name"].endswith(f"/agents/{agent_id}"))
    left += len(stored(stack, f"agents/{agent_id}/statShards"))
    for conversation_id in conversation_ids:
        left += len(stored(stack, f"conversations/{conversation_id}/messages"))
        names = (d["name"] for d in stored(stack, "conversations"))
        left += sum(1 for name in names if name.endswith(f"/conversations/{conversation_id}"))
    return left


def test_deleting_an_agent_leaves_zero_documents_of_it(
    http: httpx.Client, local_stack: RunningStack
) -> None:
    headers = {"Authorization": f"Bearer {http.post('/v1/sessions').json()['token']}"}
    agent = http.post("/v1/agents", json={"name": "Doomed", "model": "offline"}, headers=headers)
    agent_id = agent.json()["id"]
    conversation_ids = []
    for n in range(3):
        conversation = http.post("/v1/conversations", json={"agentId": agent_id}, headers=headers)
        conversation_ids.append(conversation.json()["id"])
        answer = http.post(
            f"/v1/conversations/{conversation_ids[-1]}/messages",
            json={"content": f"hello {n}"},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
    assert documents_of(local_stack, agent_id, conversation_ids) >= 10

    deleted = http.delete(f"/v1/agents/{agent_id}", headers=headers)

    assert deleted.status_code == 204
    deadline = time.monotonic() + 30
    while documents_of(local_stack, agent_id, conversation_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert documents_of(local_stack, agent_id, conversation_ids) == 0


def owned_by(stack: RunningStack, collection: str, user_id: str) -> int:
    return sum(
        1
        for d in stored(stack, collection)
        if d.get("fields", {}).get("userId", {}).get("stringValue") == user_id
    )


def test_a_guest_erases_all_of_their_data_with_one_call(
    http: httpx.Client, local_stack: RunningStack
) -> None:
    created = http.post("/v1/sessions").json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    user_id = created["userId"]
    for n in range(2):
        agent = http.post("/v1/agents", json={"name": f"A{n}", "model": "offline"}, headers=headers)
        conversation = http.post(
            "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
        ).json()
        http.post(
            f"/v1/conversations/{conversation['id']}/messages",
            json={"content": "remember me"},
            headers=headers,
        )
    other = http.post("/v1/sessions").json()

    erased = http.delete("/v1/me", headers=headers)

    assert erased.status_code == 204
    assert http.get("/v1/sessions/current", headers=headers).status_code == 401
    deadline = time.monotonic() + 30
    kinds = ("agents", "conversations", "sessions")
    while any(owned_by(local_stack, k, user_id) for k in kinds) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [owned_by(local_stack, k, user_id) for k in kinds] == [0, 0, 0]
    assert owned_by(local_stack, "sessions", other["userId"]) == 1
