"""The local gateway: one port that routes the contract's prefixes to the functions.

It plays the part of the production load balancer's URL map. Responses are streamed
through unbuffered, so SSE chat answers arrive chunk by chunk. It also serves the merged
OpenAPI document of every HTTP function at `/v1/openapi.json`.

Like Cloud Monitoring's request metrics for a deployment, it counts what it relays: each
request's function (backend), status and time until its body ended (a 503 when the
function could not be reached counts too). `GET /_stack/requests?minutes=N` answers the
figures per backend (requests, 5xx, p95) to the `ADMIN_TOKEN` bearer only; the stack's
control endpoint reads them for `platform_status` (infra/local/control.py).
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from shared.core.settings import get_settings
from shared.web.headers import SECURITY_HEADERS
from shared.web.openapi import merge_documents

# Headers that describe one connection, not the message (RFC 9110 section 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
MAX_BODY_BYTES = 32 * 1024 * 1024
REQUESTS_PATH = "/_stack/requests"
# The relayed requests remembered for the figures (the newest; about 3 MiB at most).
KEPT_REQUESTS = 50_000


def _error(status: int, code: str, message: str, retry_after: int | None = None) -> Response:
    request_id = uuid.uuid4().hex
    body = json.dumps({"error": {"code": code, "message": message, "requestId": request_id}})
    response = Response(body, status=status, mimetype="application/json")
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-Id"] = request_id
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class RequestLog:
    """What the gateway relayed: (when it ended, backend, status, seconds), the newest
    `KEPT_REQUESTS`."""

    def __init__(self, kept: int = KEPT_REQUESTS) -> None:
        self._done: deque[tuple[float, str, int, float]] = deque(maxlen=kept)
        self._lock = threading.Lock()

    def record(self, backend: str, status: int, seconds: float) -> None:
        with self._lock:
            self._done.append((time.time(), backend, status, seconds))

    def figures(self, minutes: float) -> dict[str, dict[str, Any]]:
        """Per backend over the last `minutes`: requests, 5xx and p95 (ms, nearest rank)."""
        since = time.time() - minutes * 60
        with self._lock:
            recent = [item for item in self._done if item[0] >= since]
        by_backend: dict[str, list[tuple[int, float]]] = {}
        for _, backend, status, seconds in recent:
            by_backend.setdefault(backend, []).append((status, seconds))
        figures = {}
        for backend, done in by_backend.items():
            latencies = sorted(seconds for _, seconds in done)
            rank = max(0, math.ceil(0.95 * len(latencies)) - 1)
            figures[backend] = {
                "requests": len(done),
                "errors5xx": sum(1 for status, _ in done if status >= 500),
                "p95Ms": round(latencies[rank] * 1000, 1),
            }
        return figures


class Gateway:
    def __init__(self, routes: dict[str, str]) -> None:
        # Longest prefix first, so /v1/alerts/silences could win over /v1/alerts.
        self.routes = sorted(routes.items(), key=lambda item: len(item[0]), reverse=True)
        self.client = httpx.Client(
            timeout=httpx.Timeout(connect=5, read=600, write=60, pool=30),
            # Idle connections are dropped after 1 s, before the functions' gunicorn closes
            # them (its keep-alive is 2 s): never reuse one the other side is closing.
            limits=httpx.Limits(
                max_connections=256, max_keepalive_connections=64, keepalive_expiry=1.0
            ),
        )
        self._openapi: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.requests = RequestLog()

    def backend_for(self, path: str) -> str | None:
        for prefix, url in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                return url
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.handle(request)
        except Exception as exc:  # noqa: BLE001 - the gateway answers JSON, never HTML
            response = _error(
                502, "gateway_error", f"the request could not be relayed: {exc!r}"[:300]
            )
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        backend = self.backend_for(request.path)
        if backend is not None:
            return self.forward(request, backend)
        # The gateway's own answers: give them the CORS headers a function would.
        if request.path == "/v1/openapi.json":
            response = self.openapi_response()
        elif request.path == "/healthz":
            response = Response('{"status":"ok"}', mimetype="application/json")
        elif request.path == REQUESTS_PATH:
            response = self.requests_response(request)
        else:
            response = _error(404, "not_found", f"no function serves {request.path}")
        origin = request.headers.get("Origin", "")
        if origin and origin.rstrip("/") in get_settings().allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        response.headers.update(SECURITY_HEADERS)  # as every function's answers carry them
        return response

    def forward(self, request: Request, backend: str) -> Response:
        length = request.content_length or 0
        if length > MAX_BODY_BYTES:
            return _error(413, "payload_too_large", f"body is {length} bytes")
        # Values as the client sent them: the server decoded them as Latin-1, so encoding
        # them back relays any byte (a non-ASCII value is the function's to judge).
        headers = {
            k.encode("latin-1", "replace"): v.encode("latin-1", "replace")
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-forwarded-for"
        }
        peer = request.remote_addr or "127.0.0.1"
        forwarded = request.headers.get("X-Forwarded-For")
        relayed = f"{forwarded}, {peer}" if forwarded else peer
        headers[b"X-Forwarded-For"] = relayed.encode("latin-1", "replace")
        body = request.stream.read(MAX_BODY_BYTES + 1) if length or _chunked(request) else b""
        # The raw target keeps percent-encoding (`%2F`, `%3F`) as the client sent it;
        # `request.full_path` is decoded and would change what the function routes.
        target = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
        outgoing = self.client.build_request(
            request.method,
            backend + target,
            headers=headers,
            content=body,
        )
        started = time.perf_counter()
        try:
            upstream = self.client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            self.requests.record(backend, 503, time.perf_counter() - started)
            return _error(503, "unavailable", f"function unreachable: {type(exc).__name__}", 2)
        response_headers = [
            (k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP
        ]
        if request.method == "HEAD" or upstream.status_code in (204, 304):
            # No body will be read, so the relay's `finally` would never run: release the
            # connection to the pool now.
            upstream.close()
            self.requests.record(backend, upstream.status_code, time.perf_counter() - started)
            return Response(status=upstream.status_code, headers=response_headers)

        def ended() -> None:
            self.requests.record(backend, upstream.status_code, time.perf_counter() - started)

        return Response(
            _relay(upstream, ended),
            status=upstream.status_code,
            headers=response_headers,
            direct_passthrough=True,
        )

    def requests_response(self, request: Request) -> Response:
        """The relayed requests' figures, for the `ADMIN_TOKEN` bearer only."""
        token = get_settings().admin_token
        if token is None:
            return _error(404, "not_found", f"no function serves {request.path}")
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        expected = token.get_secret_value().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), expected):
            return _error(401, "unauthenticated", "the operator token is required")
        try:
            minutes = float(request.args.get("minutes", "60"))
        except ValueError:
            minutes = math.nan
        if not 0 < minutes <= 7 * 24 * 60:
            return _error(400, "invalid_request", "minutes is a number above 0 and at most 10080")
        body = {"minutes": minutes, "backends": self.requests.figures(minutes)}
        response = Response(json.dumps(body), mimetype="application/json")
        response.headers.update(SECURITY_HEADERS)
        return response

    def openapi_response(self) -> Response:
        try:
            document = self.merged_openapi()
        except (httpx.HTTPError, ValueError) as exc:
            return _error(503, "unavailable", f"a function is unreachable: {exc}", 2)
        response = Response(json.dumps(document), mimetype="application/json")
        response.headers.update(SECURITY_HEADERS)
        return response

    def merged_openapi(self) -> dict[str, Any]:
        with self._lock:
            if self._openapi is not None:
                return self._openapi
        documents = [
            self.client.get(backend + "/openapi.json", timeout=5).json()
            for backend in sorted({url for _, url in self.routes})
        ]
        merged = merge_documents(documents)
        with self._lock:
            self._openapi = merged
        return merged


def _chunked(request: Request) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _relay(upstream: httpx.Response, ended: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from upstream.iter_raw()
    finally:
        upstream.close()
        ended()


def serve(routes: dict[str, str], port: int, threads: int = 64, host: str = "127.0.0.1") -> None:
    """Serve the gateway with gunicorn's threaded worker on a loopback address."""
    from gunicorn.app.base import BaseApplication

    gateway = Gateway(routes)

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 0)
            # Longer than a client's idle pool (httpx: 5 s), so the client closes an idle
            # connection first: none is reused just as the server drops it.
            self.cfg.set("keepalive", 75)
            self.cfg.set("loglevel", "warning")

        def load(self) -> Gateway:
            return gateway

    _Server().run()


if __name__ == "__main__":
    import os

    # `make rehearse` serves it on another loopback address (GATEWAY_HOST=127.0.0.2), like a
    # load balancer whose host is not the functions' own.
    serve(
        json.loads(os.environ["GATEWAY_ROUTES"]),
        int(os.environ.get("PORT", "8080")),
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
    )
