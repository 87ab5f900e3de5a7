"""The capacity model's write lists are what the platform's code writes.

Each flow of tools/capacity.py runs through its real entry point on the Firestore emulator
while every commit is recorded (the GAPIC client's `commit`: batches, transactions and
single writes all end there). The writes, sorted into the model's document kinds by path,
must be the counts the model lists; and every timestamp a write sets on a collection the
model rates must be a field the model knows (rising, or fixed per window), so a new rising
field cannot reach production unrated and unexempted.

The streamed answer's partial writes depend on how long the model talks (the offline
model answers at once), so they are left out here; CHAT_STREAM_PERSIST_SECONDS bounds them
and the last test holds the model to that setting.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.manifest import load
from tests.conftest import load_function
from tests.support.pubsub import ensure_topic, push_message, structured_cloud_event
from tools import capacity

FLOWS = {flow.name: flow for flow in capacity.flows(load())}
# Kinds the offline model cannot show: how many there are depends on the answer's length.
TIMED = {"answer (partial text)"}
ADDRESS = "203.0.113.7"


@dataclass
class Write:
    path: str  # the document path under .../documents/
    delete: bool
    timestamps: set[str] = field(default_factory=set)


@dataclass
class Recorder:
    writes: list[Write] = field(default_factory=list)
    published: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> tuple[list[Write], list[tuple[str, bytes]]]:
        with self.lock:
            found = (list(self.writes), list(self.published))
            self.writes.clear()
            self.published.clear()
        return found


@contextmanager
def recording() -> Iterator[Recorder]:
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

    recorder = Recorder()
    commit, publish = FirestoreClient.commit, PublisherClient.publish

    def recorded_commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request", args[0] if args else None)
        writes = request.writes if hasattr(request, "writes") else request["writes"]
        with recorder.lock:
            for write in writes:
                pb = getattr(write, "_pb", write)
                operation = pb.WhichOneof("operation")
                if operation == "delete":
                    recorder.writes.append(Write(pb.delete.split("/documents/", 1)[1], True))
                    continue
                document = pb.update if operation == "update" else None
                name = document.name if document is not None else pb.transform.document
                stamps = {
                    key
                    for key, value in (document.fields.items() if document is not None else [])
                    if value.WhichOneof("value_type") == "timestamp_value"
                }
                recorder.writes.append(Write(name.split("/documents/", 1)[1], False, stamps))
        return commit(self, *args, **kwargs)

    def recorded_publish(self: Any, topic: str, data: bytes, *args: Any, **attrs: Any) -> Any:
        with recorder.lock:
            recorder.published.append((topic.rsplit("/", 1)[-1], data))
        return publish(self, topic, data, *args, **attrs)

    FirestoreClient.commit = recorded_commit  # type: ignore[method-assign]
    PublisherClient.publish = recorded_publish  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        FirestoreClient.commit = commit  # type: ignore[method-assign]
        PublisherClient.publish = publish  # type: ignore[method-assign]


def pattern_of(kind: str) -> str:
    return capacity.DOCS[kind].pattern


def expected(flow_name: str) -> Counter[str]:
    """The model's writes of a flow, by document path pattern (kinds may share one)."""
    counts: Counter[str] = Counter()
    for kind, count in FLOWS[flow_name].writes.items():
        if kind not in TIMED:
            counts[pattern_of(kind)] += round(count)
    return counts


def observed(writes: list[Write]) -> Counter[str]:
    counts: Counter[str] = Counter()
    patterns = {doc.pattern for doc in capacity.DOCS.values()}
    for write in writes:
        matches = [p for p in patterns if re.search(p, write.path)]
        counts[matches[0] if len(matches) == 1 else f"unknown: {write.path}"] += 1
    return counts


def known_timestamps() -> dict[str, set[str]]:
    """Pattern -> every timestamp field the model knows a write there may set."""
    known: dict[str, set[str]] = {}
    for doc in capacity.DOCS.values():
        known.setdefault(doc.pattern, set()).update(doc.sequential, doc.windowed)
    return known


def unknown_timestamps(writes: list[Write]) -> list[str]:
    known = known_timestamps()
    found = []
    for write in writes:
        for pattern, fields in known.items():
            doc = next(d for d in capacity.DOCS.values() if d.pattern == pattern)
            if re.search(pattern, write.path) and not doc.per_parent:
                found += [f"{write.path}.{name}" for name in sorted(write.timestamps - fields)]
    return found


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Work that finishes after the response (a settle, an unstage): wait for it."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


@pytest.fixture
def production_bounds(settings: Callable[..., None]) -> None:
    """The per-address meters the suite turns off for its shared 127.0.0.1 client, on."""
    settings(
        CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE="60",
        CHAT_TOKENS_PER_ADDRESS_PER_DAY="1000000",
        SESSION_CREATE_PER_MINUTE="10",
    )


@pytest.fixture
def clients(firestore_db: Any, production_bounds: None) -> dict[str, Any]:
    ensure_topic("chat-events")
    return {
        "sessions": load_function("functions/guest_session", "guest_session").app.test_client(),
        "agents": load_function("functions/agents", "agents").app.test_client(),
        "chat": load_function("functions/chat", "chat").app.test_client(),
        "personas": load_function("functions/persona_router", "persona_router").app.test_client(),
        "stats": load_function("functions/agent_stats", "on_chat_event", "cloudevent"),
    }


def client_env() -> dict[str, Any]:
    return {"REMOTE_ADDR": ADDRESS}


def holds_left(db: Any) -> bool:
    return any(s.id.startswith("hold_") for s in db.collection("limits").stream())


def test_every_flow_writes_what_the_model_lists(clients: dict[str, Any], firestore_db: Any) -> None:
    results: dict[str, tuple[Counter[str], Counter[str]]] = {}
    stamps: list[str] = []
    with recording() as recorder:
        made = clients["sessions"].post("/v1/sessions", environ_base=client_env())
        writes, _ = recorder.take()
        results["guest session created"] = (expected("guest session created"), observed(writes))
        stamps += unknown_timestamps(writes)
        auth = {"Authorization": f"Bearer {made.get_json()['token']}"}

        agent = clients["agents"].post(
            "/v1/agents", json={"name": "Helper", "systemPrompt": "Be brief."}, headers=auth
        )
        writes, _ = recorder.take()
        results["agent created"] = (expected("agent created"), observed(writes))
        stamps += unknown_timestamps(writes)

        conversation = clients["chat"].post(
            "/v1/conversations", json={"agentId": agent.get_json()["id"]}, headers=auth
        )
        writes, _ = recorder.take()
        results["conversation created"] = (expected("conversation created"), observed(writes))
        stamps += unknown_timestamps(writes)

        sent = clients["chat"].post(
            f"/v1/conversations/{conversation.get_json()['id']}/messages",
            json={"content": "What should we check before Friday's release?"},
            headers={**auth, "Idempotency-Key": "capacity-1"},
            environ_base=client_env(),
        )
        assert sent.status_code == 200, sent.get_data()[:300]
        wait_until(lambda: not holds_left(firestore_db), "the run's hold settled")
        wait_until(
            lambda: not list(firestore_db.collection("outbox").stream()), "the event unstaged"
        )
        writes, published = recorder.take()
        results["chat message"] = (expected("chat message"), observed(writes))
        stamps += unknown_timestamps(writes)
        assert [topic for topic, _ in published] == list(FLOWS["chat message"].publishes)

        routed = clients["personas"].post(
            "/v1/personas/chat",
            json={"message": "I feel nervous about tomorrow's talk."},
            headers=auth,
            environ_base=client_env(),
        )
        assert routed.status_code == 200, routed.get_data()[:300]
        wait_until(lambda: not holds_left(firestore_db), "the persona run settled")
        writes, _ = recorder.take()
        results["persona chat"] = (expected("persona chat"), observed(writes))
        stamps += unknown_timestamps(writes)

    mismatched = {
        name: {"model": dict(model), "code": dict(code)}
        for name, (model, code) in results.items()
        if model != code
    }
    assert mismatched == {}
    assert stamps == [], f"timestamps the capacity model does not rate: {stamps}"


def test_a_counted_run_writes_its_shard_totals_and_processed_record(
    clients: dict[str, Any], firestore_db: Any
) -> None:
    from shared.agents import stats
    from tests.functions.agents.payloads import golden_event
    from tests.support.guests import new_guest

    guest = new_guest()
    made = clients["agents"].post("/v1/agents", json={"name": "Counted"}, headers=guest.headers)
    fields = {"agent_id": made.get_json()["id"], "user_id": guest.user_id}
    first = golden_event("chat_run_completed", **fields)
    # A later run on the same shard: the first use of a shard also lists it on the agent
    # (at most 8 times in an agent's life); every later run costs what the model lists.
    second = golden_event("chat_run_completed", **fields)
    while stats.shard_index(second.id) != stats.shard_index(first.id):
        second = golden_event("chat_run_completed", **fields)
    with recording() as recorder:
        for event in (first, second):
            headers, body = structured_cloud_event("chat-events", push_message(event))
            answer = clients["stats"].app.test_client().post("/", headers=headers, data=body)
            assert answer.status_code < 300
            writes, _ = recorder.take()

    assert observed(writes) == expected("chat event counted (agents-stats)")
    assert unknown_timestamps(writes) == []


def test_the_model_reads_the_settings_it_depends_on() -> None:
    from shared.agents.stats import SHARDS
    from shared.alerts.state import AlertSettings
    from shared.chat.streams import StreamSettings
    from shared.limits.quotas import QuotaSettings
    from shared.limits.spend import SpendSettings
    from shared.llm.settings import ModelSettings

    def default(model: Any, name: str) -> Any:
        return model.model_fields[name].default

    settings = {
        "CHAT_STREAM_PERSIST_SECONDS": default(StreamSettings, "chat_stream_persist_seconds"),
        "CHAT_MESSAGES_PER_MINUTE": default(QuotaSettings, "chat_messages_per_minute"),
        "stat shards": SHARDS,
        "ALERT_CHAT_FAILURE_THRESHOLD": default(AlertSettings, "alert_chat_failure_threshold"),
        "CHAT_TOKENS_PER_DAY_GLOBAL": default(SpendSettings, "chat_tokens_per_day_global"),
    }
    assert settings == {
        "CHAT_STREAM_PERSIST_SECONDS": capacity.STREAM_PERSIST_SECONDS,
        "CHAT_MESSAGES_PER_MINUTE": capacity.MESSAGES_PER_GUEST_PER_MINUTE,
        "stat shards": capacity.STAT_SHARDS,
        "ALERT_CHAT_FAILURE_THRESHOLD": capacity.ALERT_CHAT_FAILURE_THRESHOLD,
        "CHAT_TOKENS_PER_DAY_GLOBAL": capacity.TOKENS_PER_DAY_GLOBAL,
    }
    reserved = default(ModelSettings, "chat_max_output_tokens") + default(
        ModelSettings, "chat_history_token_budget"
    )
    assert reserved <= capacity.RUN_RESERVATION_TOKENS <= reserved + 1000
