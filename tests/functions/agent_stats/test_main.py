"""The agents-stats Pub/Sub entry point: chat-events pushed as CloudEvents (binary and
structured), counted once per event id, concurrently, with poison acknowledged."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.agents import stats as agent_stats
from shared.agents import store as agents
from shared.agents.store import AgentCreate
from shared.messaging import events
from shared.messaging.events import Event
from shared.messaging.topics.chat_events import TOPIC
from tests.conftest import LoadedFunction, load_function
from tests.functions.agents.payloads import golden_event
from tests.support.guests import Guest, new_guest
from tests.support.pubsub import binary_cloud_event, push_message, structured_cloud_event

Encoder = Callable[[str, dict[str, Any]], tuple[dict[str, str], str]]
ENCODINGS = pytest.mark.parametrize(
    "encode", [binary_cloud_event, structured_cloud_event], ids=["binary", "structured"]
)


@pytest.fixture
def function(firestore_db: Any) -> LoadedFunction:
    return load_function("functions/agent_stats", "on_chat_event", "cloudevent")


@pytest.fixture
def guest(firestore_db: Any) -> Guest:
    return new_guest()


@pytest.fixture
def agent(guest: Guest) -> agents.AgentRecord:
    return agents.create_agent(guest.user_id, AgentCreate(name="Popular"))


def push(
    function: LoadedFunction, payload: Event | bytes, encode: Encoder = binary_cloud_event
) -> Any:
    headers, body = encode(TOPIC, push_message(payload))
    return function.app.test_client().post("/", headers=headers, data=body)


def push_until_acked(function: LoadedFunction, event: Event, attempts: int = 5) -> int:
    """Deliver like Pub/Sub: a non-2xx answer (contention under a burst) is redelivered."""
    status = push(function, event).status_code
    while status >= 300 and attempts > 1:
        attempts -= 1
        status = push(function, event).status_code
    return int(status)


def stats_of(agent: agents.AgentRecord) -> agent_stats.AgentStats:
    return agent_stats.read_stats([agents.agent_ref(agent.id)])[agent.id]


def run_event(agent: agents.AgentRecord, name: str = "chat_run_completed", **data: Any) -> Event:
    return golden_event(name, agent_id=agent.id, user_id=agent.user_id, **data)


@ENCODINGS
def test_the_same_event_pushed_twice_counts_once(
    function: LoadedFunction, agent: agents.AgentRecord, encode: Encoder
) -> None:
    event = run_event(agent)

    first = push(function, event, encode)
    second = push(function, event, encode)

    assert (first.status_code, second.status_code) == (200, 200)
    stats = stats_of(agent)
    assert (stats.total_runs, stats.successful_runs, stats.failed_runs) == (1, 1, 0)
    assert (stats.input_tokens, stats.output_tokens) == (1200, 350)
    assert stats.avg_latency_ms == pytest.approx(2150.5)
    assert stats.last_run_at == datetime(2026, 11, 22, 0, 0, 1, 200000, tzinfo=UTC)


def test_failed_and_incomplete_runs_are_counted_by_their_rules(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    push(function, run_event(agent, "chat_run_failed"))
    push(function, run_event(agent, outcome="incomplete", latencyMs=100.0))
    push(function, run_event(agent))

    stats = stats_of(agent)

    assert (stats.total_runs, stats.successful_runs, stats.failed_runs) == (3, 1, 1)
    assert stats.input_tokens == 900 + 1200 + 1200
    assert stats.avg_latency_ms == pytest.approx((30000 + 100 + 2150.5) / 3)


def test_last_run_at_is_the_latest_whatever_the_arrival_order(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    late = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
    # Many events, so the latest and the earlier ones land on different shards.
    for minutes in (0, *range(1, 10)):
        push(function, run_event(agent, finished_at=late - timedelta(minutes=minutes)))
    push(function, run_event(agent, finished_at=late - timedelta(days=1)))

    assert stats_of(agent).last_run_at == late


def test_200_events_for_one_agent_at_once_are_all_counted(
    function: LoadedFunction, agent: agents.AgentRecord, firestore_db: Any
) -> None:
    batch = [run_event(agent, inputTokens=i, outputTokens=1) for i in range(200)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda event: push_until_acked(function, event), batch))

    assert statuses == [200] * 200
    stats = stats_of(agent)
    assert stats.total_runs == 200
    assert stats.successful_runs == 200
    assert stats.input_tokens == sum(range(200))
    assert stats.output_tokens == 200
    shards = agents.agent_ref(agent.id).collection("statShards").stream()
    assert len(list(shards)) > 1


def test_a_run_of_a_deleted_agent_is_acked_and_dropped(
    function: LoadedFunction, agent: agents.AgentRecord, firestore_db: Any
) -> None:
    event = run_event(agent)
    agents.delete_agent(agent.user_id, agent.id)

    response = push(function, event)

    assert response.status_code == 200
    assert list(agents.agent_ref(agent.id).collection("statShards").stream()) == []
    assert events.processed_ref(agent_stats.CONSUMER, event.id).get().exists


def test_a_run_claiming_another_users_agent_counts_nothing(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    intruder = new_guest()
    event = golden_event("chat_run_completed", agent_id=agent.id, user_id=intruder.user_id)

    assert push(function, event).status_code == 200
    assert stats_of(agent).total_runs == 0


@pytest.mark.parametrize(
    "payload",
    [b"not json at all", b'{"id": "evt_1"}', b"\xff\xfe"],
    ids=["not-json", "not-an-envelope", "not-utf8"],
)
@ENCODINGS
def test_poison_messages_are_acked_and_logged(
    function: LoadedFunction,
    agent: agents.AgentRecord,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    encode: Encoder,
) -> None:
    with caplog.at_level(logging.ERROR):
        response = push(function, payload, encode)

    assert 200 <= response.status_code < 300
    assert any(record.getMessage() == "poison message dropped" for record in caplog.records)
    assert stats_of(agent).total_runs == 0


def test_run_data_that_does_not_validate_is_acked_and_logged(
    function: LoadedFunction, agent: agents.AgentRecord, caplog: pytest.LogCaptureFixture
) -> None:
    event = run_event(agent, outcome="exploded")

    with caplog.at_level(logging.ERROR):
        response = push(function, event)

    assert response.status_code == 200
    assert any(record.getMessage() == "poison chat event dropped" for record in caplog.records)
    assert stats_of(agent).total_runs == 0


def test_other_event_types_are_acked_without_counting(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    event = run_event(agent).model_copy(update={"type": "chat.run.started"})

    assert push(function, event).status_code == 200
    assert stats_of(agent).total_runs == 0


def test_a_firestore_failure_is_a_500_so_pubsub_retries(
    function: LoadedFunction, agent: agents.AgentRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.api_core.exceptions import ServiceUnavailable

    def unavailable(*args: Any, **kwargs: Any) -> bool:
        raise ServiceUnavailable("firestore is down")

    event = run_event(agent)
    monkeypatch.setattr(events, "apply_once", unavailable)
    failed = push(function, event)
    monkeypatch.undo()
    retried = push(function, event)

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert stats_of(agent).total_runs == 1


def test_the_same_event_delivered_concurrently_counts_once(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    event = run_event(agent)

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: push_until_acked(function, event), range(10)))

    assert statuses == [200] * 10
    assert stats_of(agent).total_runs == 1


def test_a_burst_with_duplicates_out_of_order_leaves_stats_exact(
    function: LoadedFunction, agent: agents.AgentRecord
) -> None:
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    burst = [
        run_event(
            agent,
            "chat_run_failed" if i % 10 == 0 else "chat_run_completed",
            inputTokens=i,
            outputTokens=2 * i,
            latencyMs=float(i),
            finished_at=start + timedelta(seconds=i),
        )
        for i in range(200)
    ]
    deliveries = [*burst, *burst[::3]]  # every third event twice
    random.Random(7).shuffle(deliveries)  # and in no particular order

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda event: push_until_acked(function, event), deliveries))

    assert set(statuses) == {200}
    stats = stats_of(agent)
    assert (stats.total_runs, stats.successful_runs, stats.failed_runs) == (200, 180, 20)
    assert (stats.input_tokens, stats.output_tokens) == (sum(range(200)), 2 * sum(range(200)))
    assert stats.avg_latency_ms == pytest.approx(sum(range(200)) / 200)
    assert stats.last_run_at == start + timedelta(seconds=199)
