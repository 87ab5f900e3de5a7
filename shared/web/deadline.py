"""A deadline for every request: past it the edge answers 503 with Retry-After.

The handler runs on a worker thread of the process (with the request's context
variables: request id, trace, and its `shared.core.deadline.Deadline`); the request's own
thread waits at most the budget. Past it, the deadline is marked passed before the 503
goes out, so a handler that outlives its request commits nothing more: Firestore commits
check it (`shared.gcp.clients`), and every Firestore call is capped by the time left, so
the handler fails soon after instead of holding a thread. A commit already in flight at
that moment may still land; a retry with the same Idempotency-Key is then answered from
the stored result.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from shared.core import deadline as request_deadline
from shared.core import errors
from shared.web import pools

T = TypeVar("T")


def within(seconds: float, run: Callable[[], T]) -> T:
    """`run()`'s result, or `DependencyUnavailable` once `seconds` have passed."""
    deadline = request_deadline.Deadline.after(seconds)
    context = contextvars.copy_context()
    context.run(request_deadline.bind, deadline)  # the handler's context only
    future = pools.pool("request", pools.server_threads()).submit(context.run, run)
    try:
        result = future.result(timeout=seconds)
    except FutureTimeout:
        deadline.give_up()  # before the 503 leaves: no commit of this request after it
        future.cancel()  # not started yet (the pool was full): it never runs
        raise errors.DependencyUnavailable(
            f"the request did not finish within {seconds:g} s; retry",
            retry_after=max(1, math.ceil(seconds / 2)),
        ) from None
    # In time: a streamed body runs on after this, in a copy of the handler's context.
    deadline.answer_in_time()
    return result
