"""A Slack outage through the real Pub/Sub emulator: redelivery, then the dead-letter topic,
then an alert for the dead letter once Slack is back."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from infra.local.emulators import free_port
from shared.core.settings import get_settings
from shared.gcp import clients
from tests.conftest import ROOT, load_function
from tests.support.pubsub import binary_cloud_event, ensure_topic, push_message
from tests.support.slack_server import SlackServer, configure_alerts, running_slack

INCIDENT = (ROOT / "tests" / "data" / "monitoring" / "incident_open.json").read_bytes()
MAX_ATTEMPTS = 5


class CountingApp:
    """The function's WSGI app, counting the pushes it receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    def __call__(self, environ: Any, start_response: Any) -> Any:
        self.calls += 1
        return self.app(environ, start_response)


@pytest.fixture
def slack_down(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackServer]:
    with running_slack() as server:
        configure_alerts(monkeypatch, server.url)
        server.fail(503)
        yield server


@pytest.fixture
def served_incidents(slack_down: SlackServer) -> Iterator[tuple[CountingApp, int]]:
    """alerts_incidents behind a real HTTP server on 127.0.0.1, as the emulator pushes to it."""
    incidents = load_function("functions/alert_intake", "alerts_incidents", "cloudevent")
    counting = CountingApp(incidents.app)
    port = free_port()
    server = make_server("127.0.0.1", port, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield counting, port
    server.shutdown()
    thread.join(timeout=5)


def pull_raw(subscriber: Any, subscription: str, deadline: float) -> Any:
    while time.monotonic() < deadline:
        response = subscriber.pull(subscription=subscription, max_messages=1, timeout=5)
        if response.received_messages:
            received = response.received_messages[0]
            subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
            return received.message
        time.sleep(0.5)
    return None


@pytest.mark.timeout(90)
def test_slack_outage_dead_letters_then_alerts_once_slack_is_back(
    slack_down: SlackServer, served_incidents: tuple[CountingApp, int], firestore_db: Any
) -> None:
    from google.cloud import pubsub_v1
    from google.pubsub_v1.types import DeadLetterPolicy, RetryPolicy

    counting, port = served_incidents
    project = get_settings().google_cloud_project
    topic = f"incidents-{secrets.token_hex(4)}"
    dead_topic = f"{topic}-dead-letter"
    ensure_topic(topic)
    ensure_topic(dead_topic)
    subscriber = pubsub_v1.SubscriberClient()
    dead_sub = subscriber.subscription_path(project, f"{dead_topic}-pull")
    subscriber.create_subscription(name=dead_sub, topic=clients.topic_path(dead_topic))
    push_sub = subscriber.subscription_path(project, f"{topic}-push")
    subscriber.create_subscription(
        request={
            "name": push_sub,
            "topic": clients.topic_path(topic),
            "push_config": {
                "push_endpoint": f"http://127.0.0.1:{port}/projects/{project}/topics/{topic}"
            },
            "ack_deadline_seconds": 10,
            "retry_policy": RetryPolicy(
                minimum_backoff={"seconds": 1}, maximum_backoff={"seconds": 2}
            ),
            "dead_letter_policy": DeadLetterPolicy(
                dead_letter_topic=clients.topic_path(dead_topic),
                max_delivery_attempts=MAX_ATTEMPTS,
            ),
        }
    )
    try:
        clients.publisher().publish(clients.topic_path(topic), INCIDENT).result(timeout=10)

        dead = pull_raw(subscriber, dead_sub, time.monotonic() + 60)

        assert dead is not None, "the message never reached the dead-letter topic"
        assert counting.calls >= MAX_ATTEMPTS
        assert slack_down.posts == []
        assert slack_down.attempts and set(slack_down.attempts) == {503}
        attributes = dict(dead.attributes)
        assert attributes["CloudPubSubDeadLetterSourceSubscription"].endswith(f"{topic}-push")

        slack_down.recover()
        message = push_message(bytes(dead.data), attributes)
        headers, body = binary_cloud_event(dead_topic, message)
        dead_letters = load_function("functions/alert_intake", "alerts_dead_letters", "cloudevent")
        response = dead_letters.app.test_client().post("/", headers=headers, data=body)
    finally:
        subscriber.delete_subscription(subscription=push_sub)
        subscriber.delete_subscription(subscription=dead_sub)
        subscriber.close()

    assert response.status_code == 200
    texts = slack_down.texts()
    assert any("[FIRING:1] DeadLetter" in text for text in texts)
    assert any("Chat p95 latency" in text for text in texts), (
        "the original incident was never notified"
    )
    dead_alert = str(next(p for p in slack_down.posts if "DeadLetter" in p["text"]))
    assert "incident 0.nb7y3kq8z1xa open" in dead_alert
