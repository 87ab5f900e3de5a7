"""Fault injection at the Firestore boundary: the next writes fail as if it were down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def firestore_unavailable(
    monkeypatch: pytest.MonkeyPatch, *, after_writes: int = 0
) -> Iterator[dict[str, int]]:
    """Let `after_writes` writes through, then fail every write with ServiceUnavailable.

    Patches the client library's write paths (document writes, batches, transactions), so
    the code under test runs unchanged up to the failing call. Yields counters.
    """
    from google.api_core.exceptions import ServiceUnavailable
    from google.cloud.firestore_v1 import batch, document, transaction

    counters = {"passed": 0, "failed": 0}

    def failing(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if counters["passed"] < after_writes:
                counters["passed"] += 1
                return original(*args, **kwargs)
            counters["failed"] += 1
            raise ServiceUnavailable("injected: Firestore unavailable")

        return wrapper

    targets = [
        (document.DocumentReference, "create"),
        (document.DocumentReference, "set"),
        (document.DocumentReference, "update"),
        (document.DocumentReference, "delete"),
        (batch.WriteBatch, "commit"),
        (transaction.Transaction, "_commit"),
    ]
    with monkeypatch.context() as patch:
        for owner, name in targets:
            patch.setattr(owner, name, failing(getattr(owner, name)))
        yield counters
