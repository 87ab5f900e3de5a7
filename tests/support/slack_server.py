"""A stand-in for a Slack incoming webhook on 127.0.0.1 that records posts and fails on demand.

`fail(status, times=None, retry_after=None)` answers `status` for the next `times` posts
(forever when None); `recover()` answers 200 "ok" again. Failed posts are recorded too,
in `attempts`; accepted ones in `posts`.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.core import state


@dataclass
class _Failure:
    status: int
    remaining: int | None
    retry_after: str | None


@dataclass
class SlackServer:
    server: ThreadingHTTPServer | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    failure: _Failure | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The secret part of an incoming-webhook URL; random, so a leak test cannot pass by luck.
    secret_path: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/services/T000/B000/{self.secret_path}"

    def fail(self, status: int, times: int | None = None, retry_after: str | None = None) -> None:
        with self.lock:
            self.failure = _Failure(status, times, retry_after)

    def recover(self) -> None:
        with self.lock:
            self.failure = None

    def clear(self) -> None:
        with self.lock:
            self.posts.clear()
            self.attempts.clear()
            self.failure = None

    def texts(self) -> list[str]:
        with self.lock:
            return [str(post.get("text", "")) for post in self.posts]

    def _answer(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            failure = self.failure
            if failure is not None:
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self.failure = None
                self.attempts.append(failure.status)
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return (
                    failure.status,
                    headers,
                    b"rate_limited" if failure.status == 429 else b"error",
                )
            self.attempts.append(200)
            self.posts.append(json.loads(body))
            return 200, {}, b"ok"


def _handler(slack: SlackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, headers, payload = slack._answer(body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_slack() -> Iterator[SlackServer]:
    """A recording Slack webhook on a free port of 127.0.0.1, stopped on exit."""
    slack = SlackServer()
    slack.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(slack))
    thread = threading.Thread(target=slack.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield slack
    finally:
        slack.server.shutdown()
        slack.server.server_close()
        thread.join(timeout=5)


def configure_alerts(monkeypatch: Any, slack_url: str | None, **env: str) -> None:
    """Point the alerting settings at `slack_url` (None: log only) with fast retries."""

    values = {
        "ALERT_GROUP_WAIT_SECONDS": "0",
        "ALERT_REPEAT_INTERVAL_SECONDS": "3600",
        "SLACK_MAX_ATTEMPTS": "2",
        "SLACK_MAX_ELAPSED_SECONDS": "1",
        "SLACK_BACKOFF_SECONDS": "0.01",
        "SLACK_BACKOFF_MAX_SECONDS": "0.05",
        "SLACK_BREAKER_THRESHOLD": "3",
        "SLACK_BREAKER_COOLDOWN_SECONDS": "0",
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    if slack_url is None:
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    else:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_url)
    state.reset()
