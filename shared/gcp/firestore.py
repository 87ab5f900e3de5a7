"""Firestore recipes used across capabilities: optimistic commits and create-once keys.

- `optimistic(attempt)`: reads, then one commit guarded by preconditions; when someone
  wrote in between, read and decide again (after a jittered, growing pause, so a burst of
  writers spreads out). Contention that outlasts the attempts is load, answered as 503
  with Retry-After, never a 500.
- `transaction(run)`: a Firestore transaction whose contention (`Aborted`, "Failed to
  commit transaction in N attempts") or unreachable Firestore is the same 503, never a 500.
- `create_once(key, fields, apply)`: the one idempotency recipe. `apply` runs in a
  transaction that also creates `key`; a second run for the same key fails its commit
  with AlreadyExists and changes nothing. The key is created, not read first, so
  concurrent duplicates do not take read locks on it and wait each other out.

Past the request's deadline none of these commit: every Firestore write checks it
(`shared.gcp.clients`) and raises `shared.core.deadline.DeadlinePassed` instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shared.core import deadline, errors
from shared.gcp import clients

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

T = TypeVar("T")
OPTIMISTIC_ATTEMPTS = 8
# The longest pause between two attempts; all of them stay well inside a request deadline.
OPTIMISTIC_MAX_PAUSE_SECONDS = 0.4
# Bursts for one agent or alert contend on a few documents; give a transaction room to
# retry before the work goes back to its caller (or to Pub/Sub).
TRANSACTION_ATTEMPTS = 10


def optimistic(attempt: Callable[[], T]) -> T:
    """Run `attempt` (reads, then a commit guarded by preconditions) until it commits."""
    from google.api_core import exceptions

    for tries in range(OPTIMISTIC_ATTEMPTS):
        try:
            return attempt()
        except (exceptions.FailedPrecondition, exceptions.Conflict, exceptions.NotFound):
            # Full jitter: writers that collided come back at different moments.
            pause = min(OPTIMISTIC_MAX_PAUSE_SECONDS, 0.01 * 2**tries)
            time.sleep(random.uniform(0, pause))  # noqa: S311 - spreading, not security
    raise errors.DependencyUnavailable("too many concurrent writes; retry", retry_after=1)


def transaction(run: Callable[[Transaction], T], attempts: int = TRANSACTION_ATTEMPTS) -> T:
    """Run `run` in a transaction (retried by the client); contention that outlasts the
    attempts is `DependencyUnavailable` (503 with Retry-After), never a bare failure."""
    from google.api_core.exceptions import Aborted
    from google.cloud import firestore

    try:
        result: T = firestore.transactional(run)(
            clients.firestore().transaction(max_attempts=attempts)
        )
    except Aborted as exc:
        deadline.check_open("the transaction")  # past the deadline: say why it stopped
        raise errors.DependencyUnavailable(
            "too many concurrent writes; retry", retry_after=1
        ) from exc
    except ValueError as exc:
        # The client's words for "Failed to commit transaction in N attempts" and for a
        # transaction whose begin never reached Firestore ("cannot be rolled back").
        if "transaction" not in str(exc).lower():
            raise
        deadline.check_open("the transaction")
        raise errors.DependencyUnavailable(
            "Firestore did not commit the transaction; retry", retry_after=1
        ) from exc
    return result


@dataclass(frozen=True)
class Once(Generic[T]):
    """What `create_once` did: `first` is False for a key seen before (nothing applied)."""

    first: bool
    value: T | None = None


def create_once(
    key: DocumentReference, fields: dict[str, Any], apply: Callable[[Transaction], T]
) -> Once[T]:
    """Run `apply` and create `key` with `fields` in one transaction, unless `key` exists."""
    from google.api_core.exceptions import AlreadyExists

    def run(writer: Transaction) -> T:
        value = apply(writer)  # reads (if any) come before the key's write
        writer.create(key, fields)
        return value

    try:
        value = transaction(run)
    except AlreadyExists:
        return Once(first=False)
    return Once(first=True, value=value)
