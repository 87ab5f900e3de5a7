"""A bare twin that makes the same Firestore and Pub/Sub calls as a platform entry point.

The bench records, in a counted start of the platform's entry (`bench/opcount.py`), the
calls its first answer made, and gives them to this function as `BARE_CALLS` (JSON):
gets of N documents, queries returning N documents, transactions with their reads and
writes, commits of N writes and deletes, publishes. This function makes the same calls in
the same order, one after the other, against seeded documents, then any computation the
entry's first answer is made of (`BARE_WORK`), and answers `BARE_STATUS`: the cold-start
floor for an entry whose first work is more than one Firestore call.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

import functions_framework
from google.cloud import firestore

db = firestore.Client()
CALLS: list[list[Any]] = json.loads(os.environ.get("BARE_CALLS", "[]"))
STATUS = int(os.environ.get("BARE_STATUS", "200"))
SEEDED = "bare_replay"  # SEED_COUNT documents, written by the bench before it starts twins
SEED_COUNT = 100
EMPTY = "bare_replay_empty"
TOPIC = os.environ.get("BARE_TOPIC", "")
# Work besides the calls, when the entry's first answer computes something: "module:function"
# and its one string argument, e.g. the persona router's routing of the probe's message.
WORK = os.environ.get("BARE_WORK", "")
WORK_ARGUMENT = os.environ.get("BARE_WORK_ARGUMENT", "")


def _seeded(count: int) -> list[Any]:
    return [db.collection(SEEDED).document(f"d{index % SEED_COUNT}") for index in range(count)]


def _fresh(count: int) -> list[Any]:
    return [db.collection(SEEDED + "_writes").document(secrets.token_hex(8)) for _ in range(count)]


def _query(documents: int) -> None:
    collection = db.collection(SEEDED if documents else EMPTY)
    list(collection.limit(max(documents, 1)).stream())


def _transaction(body: list[list[Any]], end: list[Any]) -> None:
    @firestore.transactional
    def run(transaction: Any) -> None:
        for call in body:
            if call[0] == "get":
                list(transaction.get_all(_seeded(call[1])))
            elif call[0] == "query":
                _query(call[1])
        if end[0] == "rollback":
            raise _RolledBack
        for ref in _fresh(end[1]):
            transaction.set(ref, {"n": 1})
        for ref in _fresh(end[2]):
            transaction.delete(ref)

    with contextlib.suppress(_RolledBack):
        run(db.transaction(max_attempts=1))


class _RolledBack(Exception):
    """Ends a replayed transaction the way the platform's ended: rolled back."""


def _publish() -> None:
    from google.cloud import pubsub_v1

    global _publisher  # noqa: PLW0603 - one client, made by the first publish as the platform does
    if _publisher is None:
        _publisher = pubsub_v1.PublisherClient()
    _publisher.publish(TOPIC, b"{}").result(timeout=10)


_publisher: Any = None


def replay(calls: list[list[Any]]) -> None:
    index = 0
    while index < len(calls):
        call = calls[index]
        if call[0] == "begin":
            end = index + 1
            while end < len(calls) and calls[end][0] not in ("commit", "rollback"):
                end += 1
            closing = calls[end] if end < len(calls) else ["rollback"]
            _transaction(calls[index + 1 : end], closing)
            index = end + 1
            continue
        if call[0] == "get":
            list(db.get_all(_seeded(call[1])))
        elif call[0] == "query":
            _query(call[1])
        elif call[0] == "commit":
            batch = db.batch()
            for ref in _fresh(call[1]):
                batch.set(ref, {"n": 1})
            for ref in _fresh(call[2]):
                batch.delete(ref)
            batch.commit()
        elif call[0] == "publish" and TOPIC:
            _publish()
        index += 1


def compute() -> None:
    if WORK:
        import importlib

        module, function = WORK.split(":")
        getattr(importlib.import_module(module), function)(WORK_ARGUMENT)


@functions_framework.http
def bare_replay_http(request: Any) -> Any:
    replay(CALLS)
    compute()
    return "{}", STATUS, {"Content-Type": "application/json"}


@functions_framework.cloud_event
def bare_replay_event(cloud_event: Any) -> None:
    replay(CALLS)
    compute()
