"""Server-sent events: one frame per event, and a response body that keeps the request's
context (trace, request id) while the WSGI server iterates it."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from typing import Any


def frame(name: str, data: dict[str, Any]) -> bytes:
    """One SSE event: `event:` then one `data:` line of compact JSON."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run a response generator inside the request's context (trace and request id).

    The WSGI server iterates the body after the edge has returned and unbound the
    context; without this, logs written while streaming would lose their trace.
    """
    context = contextvars.copy_context()
    try:
        while True:
            try:
                chunk = context.run(next, chunks)
            except StopIteration:
                return
            yield chunk
    finally:
        # A client that disconnects closes this generator; pass that on so the producer
        # can stop work (and record what it had) inside the same context.
        close = getattr(chunks, "close", None)
        if close is not None:
            context.run(close)
