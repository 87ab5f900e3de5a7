"""cleanup through functions-framework: a deleted agent's conversations are erased."""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud.firestore import FieldFilter

from shared.agents import store as agents
from shared.chat import conversations, send
from shared.limits import spend
from shared.messaging.events import Event
from shared.messaging.topics import agent_events
from tests.conftest import LoadedFunction, load_function
from tests.support.guests import new_guest
from tests.support.pubsub import binary_cloud_event, push_message, subscribe


@pytest.fixture
def function(firestore_db: Any) -> LoadedFunction:
    return load_function("functions/cleanup", "on_agent_event", "cloudevent")


def documents_of(db: Any, agent_id: str) -> int:
    """Every document left that belongs to the agent: itself, its stat shards, its
    conversations and their messages."""
    count = int(db.collection("agents").document(agent_id).get().exists)
    count += sum(1 for _ in db.collection("agents").document(agent_id).collections())
    of_agent = FieldFilter("agentId", "==", agent_id)
    for snapshot in db.collection("conversations").where(filter=of_agent).stream():
        count += 1 + sum(1 for _ in snapshot.reference.collection("messages").stream())
    return count


def test_deleting_an_agent_leaves_no_document_of_it(
    function: LoadedFunction, firestore_db: Any
) -> None:
    subscription = subscribe(agent_events.TOPIC)
    guest = new_guest()
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="Doomed", model="offline"))
    kept = agents.create_agent(guest.user_id, agents.AgentCreate(name="Kept", model="offline"))
    for _ in range(3):
        record = conversations.create_conversation(guest.user_id, agent.id, "")
        send.admit(guest.user_id, record.id, "hello")
    other = conversations.create_conversation(guest.user_id, kept.id, "")

    agents.delete_agent(guest.user_id, agent.id)
    [event] = pull_staged_or_published(firestore_db, subscription)
    client = function.app.test_client()
    headers, body = binary_cloud_event(agent_events.TOPIC, push_message(event))
    first = client.post("/", headers=headers, data=body)
    again = client.post("/", headers=headers, data=body)  # a redelivery: nothing left

    assert (first.status_code, again.status_code) == (200, 200)
    assert documents_of(firestore_db, agent.id) == 0
    assert conversations.conversation_ref(other.id).get().exists
    assert spend.count(f"user_{guest.user_id}_conversations") == 1


def pull_staged_or_published(db: Any, subscription: str) -> list[Event]:
    from tests.support.pubsub import pull_events

    published = pull_events(subscription)
    staged = [Event.model_validate(s.to_dict()["event"]) for s in db.collection("outbox").stream()]
    return [e for e in published + staged if e.type == agent_events.DELETED]
