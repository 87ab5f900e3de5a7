"""Headers that code below the handler adds to the current request's answer.

A limiter deep in a capability knows what the `RateLimit` fields should say; the handler
need not carry them up. The edge binds a fresh set per request and adds it to the answer
(errors included).
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_headers: ContextVar[dict[str, str] | None] = ContextVar("response_headers", default=None)


def bind() -> Token[dict[str, str] | None]:
    return _headers.set({})


def unbind(token: Token[dict[str, str] | None]) -> None:
    _headers.reset(token)


def add(headers: dict[str, str]) -> None:
    """Add `headers` to the current request's answer (nothing outside a request)."""
    current = _headers.get()
    if current is not None:
        current.update(headers)


def pending() -> dict[str, str]:
    return dict(_headers.get() or {})
