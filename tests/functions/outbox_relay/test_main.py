"""relay_outbox publishes what producers staged but could not publish."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.core.models import utcnow
from shared.messaging import events, outbox
from tests.conftest import load_function
from tests.support.pubsub import binary_cloud_event, pull_events, push_message, subscribe


@pytest.fixture
def relay(firestore_db: Any) -> Any:
    return load_function("functions/outbox_relay", "relay_outbox", "cloudevent").app.test_client()


def tick(relay: Any) -> Any:
    headers, body = binary_cloud_event("outbox-relay", push_message(b"{}"))
    return relay.post("/", headers=headers, data=body)


def stage_old(db: Any, topic: str) -> events.Event:
    event = events.new_event("unit.staged", "/tests", "s", {"n": 1})
    batch = db.batch()
    outbox.stage(batch, topic, event)
    batch.commit()
    db.collection(outbox.COLLECTION).document(event.id).update(
        {"stagedAt": utcnow() - timedelta(minutes=5)}
    )
    return event


def test_a_tick_publishes_staged_events_and_unstages_them(relay: Any, firestore_db: Any) -> None:
    subscription = subscribe("deploy-events")
    staged = stage_old(firestore_db, "deploy-events")

    response = tick(relay)

    assert response.status_code == 200
    assert [e.id for e in pull_events(subscription)] == [staged.id]
    assert list(firestore_db.collection(outbox.COLLECTION).stream()) == []


def test_a_failing_flush_still_acks_the_tick(
    relay: Any, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> dict[str, int]:
        raise RuntimeError("firestore down")

    monkeypatch.setattr(outbox, "flush", broken)

    assert tick(relay).status_code == 200
