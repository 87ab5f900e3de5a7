"""A guest's data carries `expiresAt` = the session's expiry + GUEST_DATA_RETENTION_DAYS,
written by the real routes (agents and chat through functions-framework)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.core.models import utcnow
from shared.identity import retention, sessions
from tests.conftest import load_function
from tests.support.guests import Guest, new_guest


def session_expiry(db: Any, guest: Guest) -> Any:
    return (
        db.collection("sessions").document(sessions.hash_token(guest.token)).get().get("expiresAt")
    )


@pytest.fixture
def guest_data(firestore_db: Any, settings: Any) -> dict[str, Any]:
    """A guest who created an agent, a conversation and one exchange through the API."""
    settings(GUEST_DATA_RETENTION_DAYS="7")
    guest = new_guest()
    agents = load_function("functions/agents", "agents").app.test_client()
    chat = load_function("functions/chat", "chat").app.test_client()
    agent = agents.post(
        "/v1/agents", json={"name": "Kept a while", "model": "offline"}, headers=guest.headers
    )
    conversation = chat.post(
        "/v1/conversations", json={"agentId": agent.get_json()["id"]}, headers=guest.headers
    )
    sent = chat.post(
        f"/v1/conversations/{conversation.get_json()['id']}/messages",
        json={"content": "hello"},
        headers=guest.headers,
    )
    assert (agent.status_code, conversation.status_code, sent.status_code) == (201, 201, 200)
    return {
        "guest": guest,
        "agent": agent.get_json()["id"],
        "conversation": conversation.get_json()["id"],
    }


def test_data_expiry_is_the_session_expiry_plus_the_retention(settings: Any) -> None:
    settings(GUEST_DATA_RETENTION_DAYS="7")
    now = utcnow()

    assert retention.data_expiry(now) == now + timedelta(days=7)
    assert retention.data_expiry(None) is None


def test_every_document_of_a_guest_carries_the_expiry(
    guest_data: dict[str, Any], firestore_db: Any
) -> None:
    guest = guest_data["guest"]
    expected = session_expiry(firestore_db, guest) + timedelta(days=7)
    conversation = firestore_db.collection("conversations").document(guest_data["conversation"])
    documents = {
        "agent": firestore_db.collection("agents").document(guest_data["agent"]).get(),
        "agent_totals": firestore_db.collection("agent_totals").document(guest.user_id).get(),
        "agent count": firestore_db.collection("limits")
        .document(f"user_{guest.user_id}_agents")
        .get(),
        "conversation count": firestore_db.collection("limits")
        .document(f"user_{guest.user_id}_conversations")
        .get(),
        "conversation": conversation.get(),
        **{f"message {s.id}": s for s in conversation.collection("messages").stream()},
    }

    assert len(documents) == 7  # the question and its answer
    assert {name: doc.get("expiresAt") for name, doc in documents.items()} == {
        name: expected for name in documents
    }
