"""Thread pools of the edge, one per purpose and per process.

gunicorn forks its workers after the app is loaded, so a pool made before the fork
would have no threads in the child: each process makes its own on first use.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_lock = threading.Lock()


def server_threads() -> int:
    """The threads the server serves requests on (gunicorn's THREADS, the manifest's
    concurrency): a pool that takes every request needs as many, or requests queue."""
    return int(os.environ.get("THREADS") or 64)


def pool(name: str, workers: int) -> ThreadPoolExecutor:
    with _lock:
        made = _pools.get(name)
        if made is None or made[0] != os.getpid():
            made = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix=name))
            _pools[name] = made
        return made[1]


def submit(name: str, workers: int, run: Callable[[], T]) -> Future[T]:
    """`run()` on the named pool, with the caller's context variables (request id, trace)."""
    context = contextvars.copy_context()
    return pool(name, workers).submit(context.run, run)
