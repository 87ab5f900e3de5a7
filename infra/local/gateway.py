"""The local gateway: one port that routes the contract's prefixes to the functions.

It plays the part of the production load balancer's URL map. Responses are streamed
through unbuffered, so SSE chat answers arrive chunk by chunk. It also serves the merged
OpenAPI document of every HTTP function at `/v1/openapi.json`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
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


def _error(status: int, code: str, message: str, retry_after: int | None = None) -> Response:
    request_id = uuid.uuid4().hex
    body = json.dumps({"error": {"code": code, "message": message, "requestId": request_id}})
    response = Response(body, status=status, mimetype="application/json")
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-Id"] = request_id
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


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
        try:
            upstream = self.client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            return _error(503, "unavailable", f"function unreachable: {type(exc).__name__}", 2)
        response_headers = [
            (k, v) for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP
        ]
        if request.method == "HEAD" or upstream.status_code in (204, 304):
            # No body will be read, so the relay's `finally` would never run: release the
            # connection to the pool now.
            upstream.close()
            return Response(status=upstream.status_code, headers=response_headers)
        return Response(
            _relay(upstream),
            status=upstream.status_code,
            headers=response_headers,
            direct_passthrough=True,
        )

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


def _relay(upstream: httpx.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_raw()
    finally:
        upstream.close()


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
