"""Pub/Sub helpers for tests: topics on the emulator, pulling what was published, and the
CloudEvents functions-framework makes of a push (binary and structured form)."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from typing import Any

from shared.core.settings import get_settings
from shared.gcp import clients
from shared.messaging.events import Event


def ensure_topic(topic: str) -> None:
    from google.api_core.exceptions import AlreadyExists

    with contextlib.suppress(AlreadyExists):
        clients.publisher().create_topic(name=clients.topic_path(topic))


def subscribe(topic: str) -> str:
    """A fresh pull subscription on `topic`; returns its path."""
    from google.cloud import pubsub_v1

    ensure_topic(topic)
    subscriber = pubsub_v1.SubscriberClient()
    project = get_settings().google_cloud_project
    path = subscriber.subscription_path(project, f"test-{topic}-{secrets.token_hex(4)}")
    subscriber.create_subscription(name=path, topic=clients.topic_path(topic))
    subscriber.close()
    return path


def pull_events(subscription: str, max_messages: int = 100, timeout: float = 5) -> list[Event]:
    """Pull, acknowledge and decode what arrived on a pull subscription."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    try:
        response = subscriber.pull(
            subscription=subscription, max_messages=max_messages, timeout=timeout
        )
        ack_ids = [received.ack_id for received in response.received_messages]
        if ack_ids:
            subscriber.acknowledge(subscription=subscription, ack_ids=ack_ids)
        return [
            Event.model_validate_json(received.message.data)
            for received in response.received_messages
        ]
    finally:
        subscriber.close()


def push_message(event: Event | bytes, attributes: dict[str, str] | None = None) -> dict[str, Any]:
    """The `message` of a Pub/Sub push, as the emulator sends it."""
    data = event if isinstance(event, bytes) else event.model_dump_json().encode()
    return {
        "data": base64.b64encode(data).decode(),
        "attributes": attributes or {},
        "messageId": secrets.token_hex(8),
        "publishTime": "2026-11-22T00:00:00Z",
    }


def binary_cloud_event(topic: str, message: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Headers and body of a binary-mode CloudEvent carrying a Pub/Sub message."""
    project = get_settings().google_cloud_project
    headers = {
        "ce-id": message["messageId"],
        "ce-specversion": "1.0",
        "ce-source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "Content-Type": "application/json",
    }
    return headers, json.dumps({"message": message, "subscription": "test"})


def structured_cloud_event(topic: str, message: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Headers and body of a structured-mode CloudEvent carrying a Pub/Sub message."""
    project = get_settings().google_cloud_project
    body = {
        "id": message["messageId"],
        "specversion": "1.0",
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "datacontenttype": "application/json",
        "data": {"message": message, "subscription": "test"},
    }
    return {"Content-Type": "application/cloudevents+json"}, json.dumps(body)
