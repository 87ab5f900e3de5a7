"""agents-stats behind a real push subscription of the Pub/Sub emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from shared.agents import stats as agent_stats
from shared.agents import store as agents
from shared.agents.store import AgentCreate
from shared.core.settings import get_settings
from shared.messaging import events
from shared.messaging.topics.chat_events import TOPIC
from tests.conftest import load_function
from tests.functions.agents.payloads import golden_event
from tests.support.guests import new_guest
from tests.support.pubsub import ensure_topic

WAIT_SECONDS = 30


class CountingApp:
    """Wraps the function and counts the pushes it answered with 2xx (acknowledged)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.acked = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def counting_start(status: str, headers: Any, *args: Any) -> Any:
            if status.startswith("2"):
                with self.lock:
                    self.acked += 1
            return start_response(status, headers, *args)

        return self.app(environ, counting_start)


@pytest.fixture
def served(firestore_db: Any) -> Iterator[tuple[str, CountingApp]]:
    """The entry point on a free local port, as the emulator's push endpoint."""
    consumer = load_function("functions/agent_stats", "on_chat_event", "cloudevent")
    counting = CountingApp(consumer.app)
    server = make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", counting
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def push_subscription(served: tuple[str, CountingApp]) -> Iterator[CountingApp]:
    from google.cloud import pubsub_v1

    url, counting = served
    project = get_settings().google_cloud_project
    ensure_topic(TOPIC)
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, f"agents-stats-test-{time.monotonic_ns()}")
    subscriber.create_subscription(
        name=path,
        topic=f"projects/{project}/topics/{TOPIC}",
        push_config={"push_endpoint": f"{url}/projects/{project}/topics/{TOPIC}"},
    )
    try:
        yield counting
    finally:
        subscriber.delete_subscription(subscription=path)
        subscriber.close()


def test_the_same_message_pushed_twice_by_the_emulator_changes_stats_once(
    push_subscription: CountingApp,
) -> None:
    guest = new_guest()
    agent = agents.create_agent(guest.user_id, AgentCreate(name="Pushed"))
    event = golden_event("chat_run_completed", agent_id=agent.id, user_id=guest.user_id)

    # Published twice: two Pub/Sub messages carrying one event id, as a publisher retry does.
    events.publish(TOPIC, event)
    events.publish(TOPIC, event)
    deadline = time.monotonic() + WAIT_SECONDS
    while push_subscription.acked < 2 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert push_subscription.acked == 2, "the emulator did not push both messages in time"
    stats = agent_stats.read_stats([agents.agent_ref(agent.id)])[agent.id]
    assert (stats.total_runs, stats.input_tokens) == (1, 1200)
