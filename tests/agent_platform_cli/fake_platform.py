"""A stand-in platform for the CLI's tests: a real HTTP server on 127.0.0.1 that answers
what each test scripts (hostile text, huge lines, silent streams, malformed bodies) and
records what the CLI sent."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AGENT = {
    "id": "agt_helper0000000000000001",
    "name": "Helper",
    "model": "offline",
    "persona": "auto",
    "stats": {"totalRuns": 2, "successfulRuns": 1, "inputTokens": 10, "outputTokens": 5},
}
OTHER_AGENT = {**AGENT, "id": "agt_other00000000000000002", "name": "Other", "persona": None}
ANSWER_ID = "msg_answer000000000000001"


def frame(name: str, data: dict[str, Any]) -> bytes:
    """One SSE event as the platform writes it."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def answer_frames(*pieces: str, message_id: str = ANSWER_ID) -> list[bytes]:
    """A whole answer: message.created, a delta per piece, message.completed, done."""
    created = {
        "userMessage": None,
        "assistantMessage": {"id": message_id, "persona": "Elro", "confidence": 0.82},
    }
    deltas = [frame("message.delta", {"messageId": message_id, "text": p}) for p in pieces]
    completed = frame("message.completed", {"usage": {"inputTokens": 7, "outputTokens": 3}})
    return [frame("message.created", created), *deltas, completed, frame("done", {})]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[["Handler", Received], None]


def answer(
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Responder:
    """A whole answer: `body` as JSON (bytes as they are), with its Content-Length."""

    def respond(handler: Handler, request: Received) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        with contextlib.suppress(OSError):  # the client may refuse to read it all
            handler.wfile.write(raw)

    return respond


def stream(
    chunks: Iterable[bytes],
    *,
    then: str = "close",
    content_type: str = "text/event-stream",
) -> Responder:
    """A body of `chunks`, written as the iterable gives them, with no Content-Length; then
    `close`, `keepalives` (a comment every 20 ms) or `silence`, the last two until the
    client leaves or the test ends."""

    def respond(handler: Handler, request: Received) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        platform = handler.server.platform  # type: ignore[attr-defined]
        try:
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
            if then == "silence":
                platform.stopping.wait()
            while then == "keepalives" and not platform.stopping.wait(0.02):
                handler.wfile.write(b": keep-alive\n\n")
                handler.wfile.flush()
        except OSError:
            return  # the client left

    return respond


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        path = self.path.split("?", 1)[0]
        request = Received(self.command, path, dict(self.headers.items()), self.rfile.read(length))
        platform: FakePlatform = self.server.platform  # type: ignore[attr-defined]
        platform.received.append(request)
        responder = platform.routes.get((self.command, path))
        if responder is None:
            error = {"error": {"code": "not_found", "message": "no such route", "details": []}}
            responder = answer(404, error)
        responder(self, request)

    do_GET = do_POST = do_DELETE = _dispatch


@dataclass
class FakePlatform:
    routes: dict[tuple[str, str], Responder] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.platform = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def on(self, method: str, path: str, responder: Responder) -> None:
        self.routes[(method, path)] = responder

    def sent(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path == path]

    def with_a_guest(self) -> FakePlatform:
        """The routes a guest's commands use, answering as the platform does."""
        self.on(
            "POST",
            "/v1/sessions",
            answer(
                201,
                {
                    "token": "gst_secret_token_value",
                    "sessionId": "ses_1",
                    "userId": "usr_1",
                    "expiresAt": "2026-12-02T03:31:25Z",
                },
            ),
        )
        self.on("GET", "/v1/agents", answer(200, {"agents": [AGENT, OTHER_AGENT]}))
        self.on("GET", f"/v1/agents/{AGENT['id']}", answer(200, AGENT))
        self.on("GET", f"/v1/agents/{OTHER_AGENT['id']}", answer(200, OTHER_AGENT))
        self.on("POST", "/v1/conversations", answer(201, {"id": "cnv_1", "agentId": AGENT["id"]}))
        self.on("POST", "/v1/conversations/cnv_1/messages", stream(answer_frames("Hello", "!")))
        return self
