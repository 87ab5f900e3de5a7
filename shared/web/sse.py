"""Server-sent events: one frame per event, and a response body that keeps the request's
context (trace, request id) while the WSGI server iterates it."""

from __future__ import annotations

import contextlib
import contextvars
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

KEEPALIVE = b": keep-alive\n\n"
_END = object()


def frame(name: str, data: dict[str, Any], event_id: str | int | None = None) -> bytes:
    """One SSE event: `id:` (when given), `event:`, then one `data:` line of compact JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def with_keepalive(
    chunks: Iterator[bytes], every: float, *, outlive: bool = False
) -> Iterator[bytes]:
    """`chunks`, with a comment whenever none came for `every` seconds (proxies cut idle
    streams). The producer runs in a thread in this context; closing this iterator closes
    the producer there, after the chunk it is waiting for. With `outlive`, closing it
    leaves the producer running to its end instead (its chunks are dropped): the work
    goes on after the client has gone."""
    context = contextvars.copy_context()
    handoff: queue.Queue[object] = queue.Queue(maxsize=0 if outlive else 1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if outlive and stop.is_set():
                    continue  # nobody listens any more; the work goes on to its end
                handoff.put(chunk)
                if stop.is_set() and not outlive:
                    break
        except BaseException as exc:  # noqa: BLE001 - passed on to the consumer
            handoff.put(exc)
            return
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        handoff.put(_END)

    worker = threading.Thread(target=context.run, args=(produce,), daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = handoff.get(timeout=every)
            except queue.Empty:
                yield KEEPALIVE
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        while worker.is_alive() and not outlive:  # unblock a producer waiting to hand over
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)


def stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run a response generator inside the request's context (trace and request id).

    The WSGI server iterates the body after the edge has returned and unbound the
    context; without this, logs written while streaming would lose their trace. The
    context is taken now, while the request's is bound, not at the first chunk.
    """
    return _in_context(chunks, contextvars.copy_context())


def _in_context(chunks: Iterator[bytes], context: contextvars.Context) -> Iterator[bytes]:
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


def wanted(request: Any) -> bool:
    """Whether the client asked for the answer as a stream (`Accept: text/event-stream`)."""
    return "text/event-stream" in request.headers.get("Accept", "")


def response(
    chunks: Iterator[bytes],
    *,
    location: str | None = None,
    keepalive: bool = True,
    outlive: bool = False,
) -> Any:
    """A `text/event-stream` answer of `chunks`, in the request's context, with keep-alives
    (`keepalive=False` when `chunks` sends its own); `location` says where the stream can
    be read again (`Content-Location`); `outlive`: the producer runs to its end even when
    the client goes (see `with_keepalive`)."""
    from werkzeug.wrappers import Response

    from shared.web.settings import get_web_settings

    every = get_web_settings().sse_keepalive_seconds
    headers = {"X-Accel-Buffering": "no", **({"Content-Location": location} if location else {})}
    body = stream(
        with_keepalive(chunks, every, outlive=outlive) if keepalive or outlive else chunks
    )
    return Response(body, mimetype="text/event-stream", headers=headers)
