"""The outbox keeps events whose publish failed and sends them once Pub/Sub is back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.local.emulators import free_port
from shared.agents import store as agents
from shared.chat import conversations, runs
from shared.core import deadline, state
from shared.gcp import clients
from shared.github import deliveries
from shared.github.normalise import normalise
from shared.messaging import events, outbox
from shared.messaging.topics import chat_events, deploy_events
from tests.support.messages_api import point_model_at
from tests.support.pubsub import pull_events, subscribe


@pytest.fixture
def pubsub_down(emulators: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the publisher at a port where nothing listens, then restore it."""
    monkeypatch.setattr(events, "PUBLISH_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    state.reset()
    yield
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulators.env["PUBSUB_EMULATOR_HOST"])
    state.reset()


DATA = Path(__file__).resolve().parents[2] / "data"


def staged_ids(db: Any) -> list[str]:
    return [snapshot.id for snapshot in db.collection(outbox.COLLECTION).stream()]


def test_delivered_event_is_published_and_unstaged(firestore_db: Any) -> None:
    subscription = subscribe("outbox-topic")
    event = events.new_event("unit.ping", "/tests", "s", {"n": 1})
    batch = firestore_db.batch()
    outbox.stage(batch, "outbox-topic", event)
    batch.commit()

    assert outbox.deliver("outbox-topic", event)

    assert [e.id for e in pull_events(subscription)] == [event.id]
    assert staged_ids(firestore_db) == []


def test_past_the_requests_deadline_the_event_is_left_to_the_relay(firestore_db: Any) -> None:
    subscription = subscribe("outbox-late")
    event = events.new_event("unit.ping", "/tests", "s", {"n": 2})
    batch = firestore_db.batch()
    outbox.stage(batch, "outbox-late", event)
    batch.commit()
    late = deadline.Deadline.after(0)
    late.give_up()  # the request was answered 503 after this commit

    token = deadline.bind(late)
    try:
        delivered = outbox.deliver("outbox-late", event)
    finally:
        deadline.unbind(token)

    assert delivered is False
    assert staged_ids(firestore_db) == [event.id]
    assert outbox.flush(older_than=timedelta(0)) == {"sent": 1, "failed": 0}
    assert [e.id for e in pull_events(subscription)] == [event.id]


def pubsub_back(monkeypatch: pytest.MonkeyPatch, emulators: Any) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulators.env["PUBSUB_EMULATOR_HOST"])
    state.reset()


def test_a_chat_run_event_survives_a_pubsub_outage_and_flush_sends_it_later(
    firestore_db: Any, pubsub_down: None, monkeypatch: pytest.MonkeyPatch, emulators: Any
) -> None:
    """What the chat function does when a run finishes: answer and event in one commit."""
    point_model_at(monkeypatch, None)
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")

    exchange = runs.start("usr_owner", conversation.id, "hello").exchange()

    [staged] = staged_ids(firestore_db)
    pubsub_back(monkeypatch, emulators)
    subscription = subscribe(chat_events.TOPIC)
    assert outbox.flush(older_than=timedelta(0)) == {"sent": 1, "failed": 0}
    [event] = pull_events(subscription)
    assert event.id == staged
    assert event.data["messageId"] == exchange.assistant_message.id
    assert staged_ids(clients.firestore()) == []


def test_a_webhook_deploy_event_survives_a_pubsub_outage_and_flush_sends_it_later(
    firestore_db: Any, pubsub_down: None, monkeypatch: pytest.MonkeyPatch, emulators: Any
) -> None:
    """What the webhook does with a push: delivery record and event in one commit."""
    payload = json.loads((DATA / "github" / "push.json").read_text())
    result = normalise("push", "delivery-1", payload, {"main": "staging"})

    event = deliveries.record("delivery-1", "push", "", result)

    assert event is not None
    assert staged_ids(firestore_db) == [event.id]
    pubsub_back(monkeypatch, emulators)
    subscription = subscribe(deploy_events.TOPIC)
    assert outbox.flush(older_than=timedelta(0)) == {"sent": 1, "failed": 0}
    assert [e.id for e in pull_events(subscription)] == [event.id]


def test_flush_leaves_recent_events_to_their_own_request(firestore_db: Any) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})
    batch = firestore_db.batch()
    outbox.stage(batch, "outbox-topic", event)
    batch.commit()

    assert outbox.flush(older_than=timedelta(minutes=5)) == {"sent": 0, "failed": 0}
    assert staged_ids(firestore_db) == [event.id]
