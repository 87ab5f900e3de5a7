"""Publishing and idempotent consumption against the Pub/Sub and Firestore emulators."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared.core import trace
from shared.core.models import ApiModel
from shared.messaging import events
from shared.messaging.topics.chat_events import RUN_COMPLETED, ChatRunData
from tests.support.pubsub import pull_events, push_message, subscribe


class PingData(ApiModel):
    count: int


def test_published_event_arrives_with_its_envelope_and_trace(emulators: Any) -> None:
    subscription = subscribe("unit-events")
    event = events.new_event("unit.ping", "/tests", "ping-1", PingData(count=3))
    token = trace.bind(trace.new_trace())
    try:
        events.publish("unit-events", event)
    finally:
        trace.unbind(token)

    received = pull_events(subscription)

    assert [e.id for e in received] == [event.id]
    assert received[0].data_as(PingData).count == 3


def test_consume_hands_over_the_envelope_and_binds_the_trace() -> None:
    parent = trace.new_trace()
    event = events.new_event("unit.ping", "/tests", "s", {"count": 1})
    message = push_message(event, {"traceparent": parent.traceparent()})
    seen: list[tuple[str, str | None]] = []

    def handle(got: events.Event, attributes: dict[str, str]) -> None:
        context = trace.current()
        seen.append((got.id, context.trace_id if context else None))

    events.consume(SimpleNamespace(data={"message": message}), handle)

    assert seen == [(event.id, parent.trace_id)]


@pytest.mark.parametrize(
    "data",
    [b"not json", {"message": "nope"}, {"message": {"data": "!!!not-base64"}}, "{"],
    ids=["bytes", "no-message", "bad-base64", "bad-json"],
)
def test_poison_is_dropped_without_calling_the_handler(data: Any) -> None:
    called: list[object] = []

    events.consume(SimpleNamespace(data=data), lambda e, a: called.append(e))

    assert called == []


def test_a_message_that_is_not_an_envelope_is_poison() -> None:
    message = push_message(b'{"hello": "world"}')
    called: list[object] = []

    events.consume(SimpleNamespace(data={"message": message}), lambda e, a: called.append(e))

    assert called == []


def test_handler_failures_propagate_so_pubsub_retries() -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})

    def handle(got: events.Event, attributes: dict[str, str]) -> None:
        raise RuntimeError("firestore down")

    with pytest.raises(RuntimeError):
        events.consume(SimpleNamespace(data={"message": push_message(event)}), handle)


def test_apply_once_runs_an_event_once(firestore_db: Any) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})
    counter = firestore_db.collection("unit_counters").document("c")
    counter.set({"n": 0})

    def bump(transaction: Any) -> None:
        current = counter.get(transaction=transaction).to_dict()["n"]
        transaction.update(counter, {"n": current + 1})

    first = events.apply_once("unit", event.id, bump)
    second = events.apply_once("unit", event.id, bump)

    assert (first.first, second.first) == (True, False)
    assert counter.get().to_dict()["n"] == 1


def test_apply_once_records_nothing_when_the_effect_fails(firestore_db: Any) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})

    def fail(transaction: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        events.apply_once("unit", event.id, fail)

    assert not events.processed_ref("unit", event.id).get().exists


def test_a_processed_key_expires_seven_days_after_it_is_written(firestore_db: Any) -> None:
    event = events.new_event("unit.ping", "/tests", "s", {})

    events.apply_once("unit", event.id, lambda transaction: None, kind=event.type)

    key = events.processed_ref("unit", event.id).get().to_dict()
    assert key["expiresAt"] - key["at"] == timedelta(days=7)
    assert (key["consumer"], key["type"]) == ("unit", "unit.ping")


def test_event_data_from_a_model_is_camel_case_on_the_wire() -> None:
    data = ChatRunData(
        agent_id="agt_1",
        user_id="usr_1",
        conversation_id="cnv_1",
        message_id="msg_1",
        model="offline",
        outcome="completed",
        finished_at=datetime(2026, 12, 1, tzinfo=UTC),
    )

    event = events.new_event(RUN_COMPLETED, "/tests", "s", data)
    wire = json.loads(event.model_dump_json())

    assert {"agentId", "userId", "conversationId", "messageId", "finishedAt"} <= set(wire["data"])
    assert not any("_" in key for key in wire["data"])
    assert event.data["finishedAt"] == "2026-12-01T00:00:00Z"  # JSON already, as it travels


def test_a_pubsub_message_sent_as_json_text_is_read() -> None:
    message = {"data": "e30=", "attributes": {}, "messageId": "1"}

    found = events.message_of(SimpleNamespace(data=json.dumps({"message": message})))

    assert found == message
