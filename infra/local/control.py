"""The control endpoint of `make run`: what the operator tools' local adapter
(shared/platform_ops/local.py) reads and does on the stack.

Served by the stack's own process (which owns the function processes) on
127.0.0.1:<free port>, only when ADMIN_TOKEN is set, and only to that bearer; the stack
passes its URL to the functions that serve operator tools as PLATFORM_LOCAL_STACK_URL.

    GET  /functions?minutes=N        every function: process, revision, starts in the window,
                                      and the gateway's request figures (HTTP functions)
    GET  /logs?function=F&severity=S&minutes=N&text=T&limit=L
                                      the newest entries of the processes' output, newest first
    GET  /revisions?minutes=N        the process starts (local revisions) in the window
    POST /functions/{name}/restart?wait=1
                                      stop the function's process and start it again;
                                      answers once it serves again (wait=0: at once, 202)

A local revision is a process start: `chat-local-00001` when `make run` started it,
`chat-local-00002` after one restart. Errors are `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from infra.local.logbook import SEVERITIES, LogBook

MAX_LOG_LIMIT = 1000


class StackError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Controlled(Protocol):
    """What the control endpoint needs of the stack (infra/local/stack.py `Stack`)."""

    logbook: LogBook

    def function_views(self, minutes: float) -> list[dict[str, Any]]: ...

    def revision_views(self, minutes: float) -> list[dict[str, Any]]: ...

    def restart(self, name: str, wait: bool) -> tuple[int, dict[str, Any]]: ...

    def function_names(self) -> list[str]: ...


def _number(
    query: dict[str, list[str]], name: str, default: float, low: float, high: float
) -> float:
    raw = query.get(name, [str(default)])[-1]
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise StackError(400, "invalid_request", f"{name} is a number from {low:g} to {high:g}")
    return value


class Control:
    def __init__(self, stack: Controlled, token: str, port: int) -> None:
        self.stack, self.token, self.port = stack, token, port
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Control:
        control = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the stack prints its own lines

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(min(length, 65536))
                try:
                    status, body = control.handle(
                        method, self.path, self.headers.get("Authorization", "")
                    )
                except StackError as exc:
                    status, body = exc.status, {"error": {"code": exc.code, "message": exc.message}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, method: str, target: str, authorization: str) -> tuple[int, dict[str, Any]]:
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self.token.encode()
        ):
            raise StackError(401, "unauthenticated", "the operator token (ADMIN_TOKEN) is required")
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/")
        routes: dict[tuple[str, str], Callable[[dict[str, list[str]]], tuple[int, Any]]] = {
            ("GET", "/functions"): self._functions,
            ("GET", "/logs"): self._logs,
            ("GET", "/revisions"): self._revisions,
        }
        if (method, path) in routes:
            return routes[(method, path)](query)
        segments = path.split("/")
        if method == "POST" and len(segments) == 4 and segments[1::2] == ["functions", "restart"]:
            return self._restart(segments[2], query)
        raise StackError(404, "not_found", f"no {method} {path} here")

    def _functions(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        minutes = _number(query, "minutes", 60, 1, 7 * 24 * 60)
        return 200, {"minutes": minutes, "functions": self.stack.function_views(minutes)}

    def _revisions(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        minutes = _number(query, "minutes", 60, 1, 7 * 24 * 60)
        return 200, {"revisions": self.stack.revision_views(minutes)}

    def _logs(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        names = query.get("function", [])
        unknown = sorted(set(names) - set(self.stack.function_names()))
        if unknown:
            raise StackError(404, "not_found", f"no function {', '.join(unknown)}")
        severity = query.get("severity", ["DEFAULT"])[-1].upper()
        if severity not in SEVERITIES:
            raise StackError(400, "invalid_request", f"severity is one of {', '.join(SEVERITIES)}")
        entries = self.stack.logbook.query(
            names,
            severity,
            _number(query, "minutes", 60, 1, 7 * 24 * 60),
            query["text"][-1] if query.get("text") else None,
            int(_number(query, "limit", 50, 1, MAX_LOG_LIMIT)),
        )
        return 200, {"entries": [entry.as_json() for entry in entries]}

    def _restart(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if name not in self.stack.function_names():
            raise StackError(404, "not_found", f"no function {name[:64]!r}")
        wait = query.get("wait", ["1"])[-1] not in ("0", "false")
        return self.stack.restart(name, wait)
