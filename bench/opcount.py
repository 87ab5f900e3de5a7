"""Counts the billable operations a process makes, for the cost section of `make bench`.

`install()` wraps the GAPIC Firestore client (every high-level call, transactions and
batches included, ends in one of its methods) and the Pub/Sub publisher, so the counts
are what the process really sent, not an estimate. A benchmarked server gets it through
`bench/opcount_site/sitecustomize.py` (on its PYTHONPATH with `BENCH_OPCOUNT_DIR` set):
every process then writes its counters and its CPU time to `<dir>/<pid>.json` a few times
a second, and the harness reads the difference over a known number of requests.

Counted as Firestore bills them: each document asked for by a get (found or missing) or
returned by a query is one read, a query that returns nothing still one, an aggregation
one per response; each write in a commit is one write, or one delete.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

FIELDS = ("reads", "writes", "deletes", "published", "publishedBytes", "rpcs")
FLUSH_SECONDS = 0.1

_lock = threading.Lock()
_counts: dict[str, float] = dict.fromkeys(FIELDS, 0)
_originals: list[tuple[Any, str, Any]] = []
# The Firestore and Pub/Sub calls in the order they were made (`bench/baselines/
# bare_replay.py` makes the same ones): ["get", documents, in_transaction],
# ["query", documents], ["begin"], ["commit", writes, deletes, in_transaction],
# ["rollback"], ["publish"].
_calls: list[list[Any]] = []


def add(**amounts: float) -> None:
    with _lock:
        for name, amount in amounts.items():
            _counts[name] = _counts.get(name, 0) + amount


def record(*call: Any) -> list[Any]:
    """Appends a call; returns its entry (a query's document count grows as it streams)."""
    entry = list(call)
    with _lock:
        _calls.append(entry)
    return entry


def calls() -> list[list[Any]]:
    with _lock:
        return [list(call) for call in _calls]


def _field(request: Any, name: str) -> Any:
    if isinstance(request, dict):
        return request.get(name)
    return getattr(request, name, None)


def snapshot() -> dict[str, float]:
    """The counters so far and this process's CPU seconds."""
    with _lock:
        counted: dict[str, float] = dict(_counts)
    counted["cpuSeconds"] = time.process_time()
    return counted


def _counting(
    stream: Iterable[Any], is_document: Callable[[Any], bool], started: float
) -> Iterator[Any]:
    """Yields a server stream unchanged, counting its documents (at least one read) and
    the time from the call to the stream's end (the Firestore phase of a request)."""
    documents = 0
    try:
        for response in stream:
            if is_document(response):
                documents += 1
            yield response
    finally:
        add(reads=max(documents, 1), rpcs=1, **{"seconds:firestore": time.perf_counter() - started})


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    key = f"seconds:{name}"

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            add(**{key: time.perf_counter() - started})

    return timed


def _commit_counts(request: Any) -> dict[str, int]:
    writes = getattr(request, "writes", None)
    if writes is None and isinstance(request, dict):
        writes = request.get("writes", [])
    deletes = sum(1 for write in writes or [] if getattr(write, "delete", ""))
    return {"writes": len(writes or []) - deletes, "deletes": deletes, "rpcs": 1}


def install() -> None:
    """Wraps the client classes once per process (idempotent)."""
    if _originals:
        return
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient
    from google.cloud.pubsub_v1 import PublisherClient

    batch_get = FirestoreClient.batch_get_documents
    run_query = FirestoreClient.run_query
    run_aggregation = FirestoreClient.run_aggregation_query
    commit = FirestoreClient.commit
    get_document = FirestoreClient.get_document
    begin = FirestoreClient.begin_transaction
    rollback = FirestoreClient.rollback
    publish = PublisherClient.publish

    def counted_batch_get(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request", args[0] if args else None)
        in_transaction = bool(_field(request, "transaction") or _field(request, "new_transaction"))
        record("get", len(_field(request, "documents") or []), in_transaction)
        started = time.perf_counter()
        found = batch_get(self, *args, **kwargs)
        # Each requested document is billed, found or missing.
        return _counting(
            found, lambda r: r._pb.HasField("found") or r._pb.HasField("missing"), started
        )

    def counted_run_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        found = run_query(self, *args, **kwargs)
        entry = record("query", 0)

        def is_document(response: Any) -> bool:
            if not response._pb.HasField("document"):
                return False
            with _lock:
                entry[1] += 1
            return True

        return _counting(found, is_document, started)

    def counted_aggregation(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        found = run_aggregation(self, *args, **kwargs)
        return _counting(found, lambda r: bool(r._pb.HasField("result")), started)

    def counted_get_document(self: Any, *args: Any, **kwargs: Any) -> Any:
        add(reads=1, rpcs=1)
        return _timed("firestore", get_document)(self, *args, **kwargs)

    def counted_commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request", args[0] if args else None)
        counts = _commit_counts(request)
        add(**counts)
        in_transaction = bool(_field(request, "transaction"))
        record("commit", counts["writes"], counts["deletes"], in_transaction)
        return _timed("firestore", commit)(self, *args, **kwargs)

    def recorded_begin(self: Any, *args: Any, **kwargs: Any) -> Any:
        record("begin")
        return begin(self, *args, **kwargs)

    def recorded_rollback(self: Any, *args: Any, **kwargs: Any) -> Any:
        record("rollback")
        return rollback(self, *args, **kwargs)

    def counted_publish(self: Any, topic: str, data: bytes, *args: Any, **attrs: Any) -> Any:
        size = len(data) + sum(len(k) + len(str(v)) for k, v in attrs.items())
        per_topic = {"published:" + topic.rsplit("/", 1)[-1]: 1}
        add(published=1, publishedBytes=size, **per_topic)
        record("publish")
        return publish(self, topic, data, *args, **attrs)

    wrapped: list[tuple[type, str, Any]] = [
        (FirestoreClient, "batch_get_documents", counted_batch_get),
        (FirestoreClient, "run_query", counted_run_query),
        (FirestoreClient, "run_aggregation_query", counted_aggregation),
        (FirestoreClient, "commit", counted_commit),
        (FirestoreClient, "get_document", counted_get_document),
        (FirestoreClient, "begin_transaction", recorded_begin),
        (FirestoreClient, "rollback", recorded_rollback),
        (PublisherClient, "publish", counted_publish),
    ]
    for owner, name, wrapper in wrapped:
        _originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)


def uninstall() -> None:
    """Puts the client classes back (for tests that count in the test process)."""
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)


def install_phases() -> None:
    """Times the platform's HTTP edge and its phases (bench only): the whole `Api` call,
    request validation and the JSON answer; Firestore is timed by `install`."""
    from shared.web import api

    wrapped: list[tuple[Any, str, Any]] = [
        (api.Api, "__call__", _timed("edge", api.Api.__call__)),
        (api, "_validate", _timed("validation", api._validate)),
        (api, "_validate_body", _timed("validation", api._validate_body)),
        (api, "_to_response", _timed("json", api._to_response)),
    ]
    for owner, name, wrapper in wrapped:
        _originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)


def _flush_forever(directory: Path) -> None:
    last: dict[str, float] = {}
    written_calls = -1
    while True:
        counted = snapshot()
        # CPU time moves by itself (this loop spends some): it is written with the counts,
        # not a reason to write them, or the writing would be billed as requests' CPU.
        if {k: v for k, v in counted.items() if k != "cpuSeconds"} != last:
            _write(directory / f"{os.getpid()}.json", counted)
            last = {k: v for k, v in counted.items() if k != "cpuSeconds"}
        if len(_calls) != written_calls:
            written_calls = len(_calls)
            _write(directory / f"{os.getpid()}.calls", calls())
        time.sleep(FLUSH_SECONDS)


def _write(target: Path, content: Any) -> None:
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(content))
    partial.replace(target)


def _start_flusher(directory: Path) -> None:
    threading.Thread(target=_flush_forever, args=(directory,), daemon=True).start()


SITE = Path(__file__).parent / "opcount_site"


def counted_env(env: dict[str, str], directory: Path, *, phases: bool = False) -> dict[str, str]:
    """A server's environment with counting on, reporting to `directory` (and, with
    `phases`, the edge's phases timed)."""
    counted = {
        **env,
        "BENCH_OPCOUNT_DIR": str(directory),
        "PYTHONPATH": f"{SITE}:{env.get('PYTHONPATH', '')}",
    }
    return counted | ({"BENCH_PHASES": "1"} if phases else {})


def install_from_env() -> None:
    """For sitecustomize: counts and reports when BENCH_OPCOUNT_DIR is set, else nothing."""
    target = os.environ.get("BENCH_OPCOUNT_DIR")
    if not target:
        return
    directory = Path(target)
    directory.mkdir(parents=True, exist_ok=True)
    install()
    if os.environ.get("BENCH_PHASES"):
        install_phases()
    _start_flusher(directory)
    # gunicorn forks its worker after the imports: threads do not survive a fork.
    os.register_at_fork(after_in_child=lambda: _start_flusher(directory))


def read_dir(directory: Path) -> dict[str, float]:
    """The counters of every process that reported to `directory`, summed."""
    total: dict[str, float] = dict.fromkeys((*FIELDS, "cpuSeconds"), 0)
    for path in directory.glob("*.json"):
        try:
            counted = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for name, value in counted.items():
            total[name] = total.get(name, 0) + value
    return total


def read_calls(directory: Path) -> list[list[Any]]:
    """The calls every process that reported to `directory` made, process by process."""
    found: list[list[Any]] = []
    for path in sorted(directory.glob("*.calls")):
        try:
            found += json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


def settled(directory: Path, timeout: float = 3.0) -> dict[str, float]:
    """The summed counters once the processes have flushed everything (two equal reads)."""
    deadline = time.monotonic() + timeout
    previous = read_dir(directory)
    while time.monotonic() < deadline:
        time.sleep(FLUSH_SECONDS * 3)
        current = read_dir(directory)
        unchanged = all(current[k] == previous.get(k) for k in current if k != "cpuSeconds")
        if unchanged:
            return current
        previous = current
    return previous
