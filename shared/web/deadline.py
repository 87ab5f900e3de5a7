"""A deadline for every request: past it the edge answers 503 with Retry-After.

The handler runs on a worker thread of the process (with the request's context
variables: request id, trace); the request's own thread waits at most the budget. Every
Firestore call is bounded too (`shared.gcp.clients`), so a handler that outlives its
request fails soon after instead of holding a thread; what it had staged in one commit
is either all there or not at all, and events go through the outbox.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from shared.core import errors
from shared.web import pools

T = TypeVar("T")
_WORKERS = 64


def within(seconds: float, run: Callable[[], T]) -> T:
    """`run()`'s result, or `DependencyUnavailable` once `seconds` have passed."""
    future = pools.submit("request", _WORKERS, run)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        future.cancel()  # not started yet (the pool was full): it never runs
        raise errors.DependencyUnavailable(
            f"the request did not finish within {seconds:g} s; retry",
            retry_after=max(1, math.ceil(seconds / 2)),
        ) from None
