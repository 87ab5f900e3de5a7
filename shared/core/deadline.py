"""The deadline of the request being served, for the code below the edge that honours it.

`shared.web.deadline.within` runs each handler under a `Deadline` (a context variable,
so it follows the handler and nothing else) and marks it passed when it gives up and
answers 503. From then on a commit must not land: the client saw the request fail.
`shared.gcp.clients` checks `check_open()` before every Firestore commit and caps every
Firestore call by `remaining()`; the outbox does not publish past it (the relay does).

What this does not cover: a commit already sent when the deadline passes may still land
(Firestore cannot take it back). A client that retries with the same `Idempotency-Key`
then gets the stored answer instead of a second write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from shared.core import errors


class DeadlinePassed(errors.DependencyUnavailable):
    """A write attempted after the request it belongs to was answered 503."""


@dataclass
class Deadline:
    """When a request's answer is due (`time.monotonic()`), and whether the edge gave up."""

    at: float
    _given_up: threading.Event = field(default_factory=threading.Event)
    answered: bool = False

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float | None:
        """Seconds left; None once the handler answered in time (what runs after it, a
        stream's body, is not held to the handler's budget)."""
        return None if self.answered else max(0.0, self.at - time.monotonic())

    def give_up(self) -> None:
        """The request was answered 503: nothing of it may be committed any more."""
        self._given_up.set()

    def answer_in_time(self) -> None:
        self.answered = True

    @property
    def passed(self) -> bool:
        return self._given_up.is_set()


_current: ContextVar[Deadline | None] = ContextVar("request_deadline", default=None)


def bind(deadline: Deadline | None) -> Token[Deadline | None]:
    return _current.set(deadline)


def unbind(token: Token[Deadline | None]) -> None:
    _current.reset(token)


def remaining() -> float | None:
    """Seconds left before the current request's deadline; None outside a request's
    handler."""
    deadline = _current.get()
    return None if deadline is None else deadline.remaining()


def passed() -> bool:
    deadline = _current.get()
    return deadline is not None and deadline.passed


def check_open(what: str) -> None:
    """Raise `DeadlinePassed` when the current request was already answered 503."""
    if passed():
        raise DeadlinePassed(f"{what} refused: the request's deadline passed", retry_after=1)


@contextmanager
def lifted() -> Iterator[None]:
    """Run a block as if outside any request: for a write that records a failure the
    client was already told about (e.g. a chat answer marked failed)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)
