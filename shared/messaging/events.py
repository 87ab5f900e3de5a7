"""The event envelope, publishing, and idempotent consumption.

Everything the platform publishes is `{id, type, source, time, subject, data}` (CloudEvents
names) as the JSON body of a Pub/Sub message, with `traceparent` and the event type in the
message attributes. Delivery is at least once, so consumers record the event id in
`processed_events` inside the same transaction as their effect: a redelivery finds the
key and does nothing, and a failure before commit leaves no key, so the retry runs.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from shared.core import log, trace
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.gcp.firestore import Once

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

logger = log.get_logger("events")

PROCESSED_COLLECTION = "processed_events"
PROCESSED_TTL = timedelta(days=7)
PUBLISH_TIMEOUT_SECONDS = 10.0

DataModel = TypeVar("DataModel", bound=BaseModel)
T = TypeVar("T")


class Event(BaseModel):
    """The platform's event envelope."""

    specversion: str = "1.0"
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    time: datetime
    subject: str = ""
    data: dict[str, Any] = Field(default_factory=dict)

    def data_as(self, model: builtins.type[DataModel]) -> DataModel:
        return model.model_validate(self.data)


class PoisonMessage(ValueError):
    """A message that no retry can make readable."""


def new_event(type_: str, source: str, subject: str, data: BaseModel | dict[str, Any]) -> Event:
    payload = data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
    return Event(
        id="evt_" + secrets.token_hex(16),
        type=type_,
        source=source,
        time=utcnow(),
        subject=subject,
        data=payload,
    )


def attributes_for(event: Event) -> dict[str, str]:
    attributes = {"type": event.type, "eventId": event.id}
    context = trace.current()
    if context is not None:
        attributes["traceparent"] = context.child().traceparent()
    return attributes


def publish(topic: str, event: Event, timeout: float | None = None) -> str:
    """Publish and wait for the server's ack; returns the message id."""
    future = clients.publisher().publish(
        clients.topic_path(topic),
        event.model_dump_json().encode(),
        **attributes_for(event),
    )
    message_id = str(future.result(timeout=timeout or PUBLISH_TIMEOUT_SECONDS))
    logger.info(
        "event published",
        extra={"fields": {"topic": topic, "eventId": event.id, "eventType": event.type}},
    )
    return message_id


def decode_message(message: Mapping[str, Any]) -> tuple[Event, dict[str, str]]:
    """The envelope inside a Pub/Sub message (`{data: base64, attributes, messageId}`)."""
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    raw = message.get("data") or ""
    try:
        body = base64.b64decode(raw, validate=True) if isinstance(raw, str) else bytes(raw)
        return Event.model_validate_json(body), attributes
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise PoisonMessage(f"not a platform event: {str(exc)[:200]}") from None


def message_of(cloud_event: Any) -> dict[str, Any]:
    """The Pub/Sub message in a functions-framework CloudEvent (push or Eventarc)."""
    data = cloud_event.data
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError:
            raise PoisonMessage("CloudEvent data is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise PoisonMessage("CloudEvent data has no Pub/Sub message")
    message: dict[str, Any] = data["message"]
    return message


def consume(cloud_event: Any, handle: Callable[[Event, dict[str, str]], None]) -> None:
    """Decode a pushed Pub/Sub CloudEvent and hand the envelope to `handle`.

    Poison (unreadable) messages are logged and acknowledged by returning normally; any
    exception from `handle` propagates, so Pub/Sub redelivers and, after the
    subscription's attempts, dead-letters the message.
    """
    try:
        message = message_of(cloud_event)
        event, attributes = decode_message(message)
    except PoisonMessage as exc:
        logger.error(
            "poison message dropped",
            extra={"fields": {"reason": str(exc), "ceId": _cloud_event_id(cloud_event)}},
        )
        return
    token = trace.bind(trace.from_headers(attributes))
    try:
        handle(event, attributes)
    finally:
        trace.unbind(token)


def _cloud_event_id(cloud_event: Any) -> str | None:
    try:
        return str(cloud_event["id"])
    except (KeyError, TypeError):
        return None


def processed_ref(consumer: str, key: str) -> Any:
    """The `processed_events` document that records `consumer` applied `key`."""
    return clients.firestore().collection(PROCESSED_COLLECTION).document(f"{consumer}:{key}")


def apply_once(
    consumer: str, key: str, apply: Callable[[Transaction], T], *, kind: str = ""
) -> Once[T]:
    """Run `apply` unless `consumer` has applied `key` (an event id) before.

    The key lands in `processed_events` in the same transaction as the effect and expires
    after `PROCESSED_TTL`, far longer than Pub/Sub keeps redelivering a message.
    """
    ref = processed_ref(consumer, key)
    now = utcnow()
    fields = {"consumer": consumer, "type": kind, "at": now, "expiresAt": now + PROCESSED_TTL}
    done = firestore.create_once(ref, fields, apply)
    if not done.first:
        logger.info(
            "duplicate event skipped", extra={"fields": {"consumer": consumer, "eventId": key}}
        )
    return done
