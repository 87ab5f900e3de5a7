"""The cost figures come from counting the client calls a server makes: these tests plant
known operations and check the counting sees each one (so the figures cannot go blind)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import cost, opcount
from bench.procs import Client, bench_env, function_server, wait_for_answer
from infra.local.emulators import Emulators

PLANTED = Path(__file__).parent / "planted_function.py"


@pytest.fixture
def counting(firestore_db: Any) -> Iterator[Any]:
    opcount.install()
    yield firestore_db
    opcount.uninstall()


def _delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0) - before.get(name, 0)


def test_counts_reads_writes_and_deletes_in_process(counting: Any) -> None:
    from google.cloud.firestore import FieldFilter

    agents = counting.collection("agents")
    before = opcount.snapshot()
    batch = counting.batch()
    batch.set(agents.document("a1"), {"userId": "u", "n": 1})
    batch.set(agents.document("a2"), {"userId": "u", "n": 2})
    batch.delete(agents.document("gone"))
    batch.commit()
    agents.document("a1").get()
    list(agents.where(filter=FieldFilter("userId", "==", "u")).stream())
    list(
        agents.where(filter=FieldFilter("userId", "==", "nobody")).stream()
    )  # an empty query is still one read
    list(counting.get_all([agents.document(n) for n in ("a1", "a2", "gone")]))
    after = opcount.snapshot()
    assert _delta(before, after, "writes") == 2
    assert _delta(before, after, "deletes") == 1
    assert _delta(before, after, "reads") == 1 + 2 + 1 + 3


def test_counts_a_transaction_read_and_write(counting: Any) -> None:
    from google.cloud import firestore

    ref = counting.collection("agents").document("t1")
    ref.set({"n": 0})
    before = opcount.snapshot()

    @firestore.transactional
    def bump(transaction: Any) -> None:
        current = ref.get(transaction=transaction).to_dict() or {}
        transaction.update(ref, {"n": current["n"] + 1})

    bump(counting.transaction())
    after = opcount.snapshot()
    assert (_delta(before, after, "reads"), _delta(before, after, "writes")) == (1, 1)


def test_counts_published_messages_by_topic(emulators: Emulators, counting: Any) -> None:
    from google.api_core.exceptions import AlreadyExists

    from shared.gcp import clients

    publisher = clients.publisher()
    topic = clients.topic_path("opcount-test")
    with contextlib.suppress(AlreadyExists):  # from an earlier test in this run
        publisher.create_topic(name=topic)
    before = opcount.snapshot()
    publisher.publish(topic, b"x" * 10, kind="test").result(timeout=10)
    after = opcount.snapshot()
    assert _delta(before, after, "published") == 1
    assert _delta(before, after, "published:opcount-test") == 1
    assert _delta(before, after, "publishedBytes") == 10 + len("kind") + len("test")


@pytest.mark.parametrize("planted", [False, True])
def test_the_bench_sees_a_planted_extra_read_in_a_served_function(
    emulators: Emulators, tmp_path: Path, planted: bool
) -> None:
    """The whole path the cost section uses: sitecustomize in a functions-framework server,
    counters flushed by its worker, read back and divided per request."""
    directory = tmp_path / "counts"
    env = bench_env({**emulators.env, "PLANT_EXTRA_READ": "1" if planted else ""})
    server = function_server("planted", PLANTED, "planted", cost.counted_env(env, directory))
    try:
        wait_for_answer(server, lambda: Client(server.port, 5).request("GET", "/").status == 200)
        probe = cost.Probe("GET /", server, directory, cost.sender(server, "GET", "/", 200, ""))
        measured = cost.row(probe, 5, None, {})
    finally:
        server.stop()
    assert measured["perRequest"]["reads"] == (2 if planted else 1)
    assert measured["perRequest"]["cpuSeconds"] > 0
    assert measured["dollarsPerMillion"]["firestore"] == pytest.approx(
        (2 if planted else 1) * cost.FIRESTORE_READ * 1_000_000, abs=0.001
    )
