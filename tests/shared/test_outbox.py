"""The outbox keeps events whose publish failed and sends them once Pub/Sub is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from infra.local.emulators import free_port
from shared.gcp import clients
from shared.messaging import events, outbox
from tests.support.pubsub import pull_events, subscribe


@pytest.fixture
def pubsub_down(emulators: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the publisher at a port where nothing listens, then restore it."""
    monkeypatch.setattr(events, "PUBLISH_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    clients.reset()
    yield
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulators.env["PUBSUB_EMULATOR_HOST"])
    clients.reset()


def staged_ids(db: Any) -> list[str]:
    return [snapshot.id for snapshot in db.collection(outbox.COLLECTION).stream()]


def test_delivered_event_is_published_and_unstaged(firestore_db: Any) -> None:
    subscription = subscribe("outbox-topic")
    event = events.new_event("unit.ping", "/tests", "s", {"n": 1})

    assert outbox.publish_reliably("outbox-topic", event)

    assert [e.id for e in pull_events(subscription)] == [event.id]
    assert staged_ids(firestore_db) == []


def test_event_survives_a_pubsub_outage_and_flush_sends_it_later(
    firestore_db: Any, pubsub_down: None, monkeypatch: pytest.MonkeyPatch, emulators: Any
) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {"n": 2})

    assert outbox.publish_reliably("outbox-topic", event) is False
    assert staged_ids(firestore_db) == [event.id]

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulators.env["PUBSUB_EMULATOR_HOST"])
    clients.reset()
    subscription = subscribe("outbox-topic")
    result = outbox.flush(older_than=timedelta(0))

    assert result == {"sent": 1, "failed": 0}
    assert [e.id for e in pull_events(subscription)] == [event.id]
    assert staged_ids(clients.firestore()) == []


def test_flush_leaves_recent_events_to_their_own_request(firestore_db: Any) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})
    batch = firestore_db.batch()
    outbox.stage(batch, "outbox-topic", event)
    batch.commit()

    assert outbox.flush(older_than=timedelta(minutes=5)) == {"sent": 0, "failed": 0}
    assert staged_ids(firestore_db) == [event.id]
