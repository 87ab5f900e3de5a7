"""Trace context: read from HTTP headers or event attributes, bound per request, passed on.

Cloud Run sends `traceparent` (W3C) and `X-Cloud-Trace-Context`; events carry `traceparent`
in their attributes so the logs of one user action share a trace across functions.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-f]{32})(?:/(\d{1,20}))?(?:;o=([01]))?$")


class HeaderLookup(Protocol):
    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    sampled: bool = False

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def child(self) -> TraceContext:
        """A new span in the same trace, for work handed to another function."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.sampled)


def new_trace() -> TraceContext:
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


def from_headers(headers: HeaderLookup) -> TraceContext:
    """The caller's trace if it sent one we can read, else a fresh one."""
    parent = (headers.get("traceparent") or "").strip().lower()
    if match := _TRACEPARENT.match(parent):
        trace_id, span_id, flags = match.groups()
        if trace_id != "0" * 32:
            return TraceContext(trace_id, span_id, int(flags, 16) & 1 == 1)
    cloud = (headers.get("X-Cloud-Trace-Context") or "").strip().lower()
    if match := _CLOUD_TRACE.match(cloud):
        trace_id, span, sampled = match.groups()
        span_id = f"{int(span):016x}"[-16:] if span else secrets.token_hex(8)
        return TraceContext(trace_id, span_id, sampled == "1")
    return new_trace()


_current: ContextVar[TraceContext | None] = ContextVar("trace", default=None)


def current() -> TraceContext | None:
    return _current.get()


def bind(context: TraceContext | None) -> object:
    """Make `context` the current trace; returns a token for `unbind`."""
    return _current.set(context)


def unbind(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
