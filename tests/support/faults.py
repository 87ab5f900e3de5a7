"""Fault injection at the Firestore boundary: the next writes fail as if it were down
(`firestore_unavailable`), or the emulator itself stops answering (`frozen`)."""

from __future__ import annotations

import os
import signal
import subprocess
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


def listening_pids(port: int) -> list[int]:
    """The processes listening on `port` on this machine (`ss`)."""
    listing = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], check=True, capture_output=True, text=True
    )
    return sorted(
        {
            int(part.split("=")[1])
            for part in listing.stdout.replace(",", " ").split()
            if part.startswith("pid=")
        }
    )


@contextmanager
def frozen(port: int) -> Iterator[None]:
    """SIGSTOP the server listening on `port` (an emulator: connections stay open, nothing
    answers), and SIGCONT it on the way out, whatever happens in between."""
    pids = listening_pids(port)
    assert pids, f"no process listens on port {port}"
    stopped: list[int] = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
