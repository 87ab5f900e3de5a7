"""A tiny stand-in for the platform's HTTP API, served from a thread on 127.0.0.1.

It answers the routes the load-test scenarios call (plus `/ok` and `/fail`) and counts
every request it receives, so tests can check the runner's arithmetic against the truth.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

_IDS = re.compile(r"/(agt|cnv)_[0-9a-f]+")
_NAMES = {"agt": "{agentId}", "cnv": "{conversationId}"}
# (method, normalised path) -> (status, body factory)
_ROUTES: dict[tuple[str, str], tuple[int, Any]] = {
    ("POST", "/v1/sessions"): (201, lambda: {"token": "gst_" + secrets.token_urlsafe(32)}),
    ("GET", "/v1/sessions/current"): (200, lambda: {"sessionId": "ses_1"}),
    ("DELETE", "/v1/sessions/current"): (204, None),
    ("GET", "/v1/agents"): (200, lambda: {"agents": [], "nextPageToken": None}),
    ("POST", "/v1/agents"): (201, lambda: {"id": "agt_" + secrets.token_hex(6)}),
    ("DELETE", "/v1/agents/{agentId}"): (204, None),
    ("POST", "/v1/personas/route"): (200, lambda: {"persona": "sage"}),
    ("POST", "/v1/conversations"): (201, lambda: {"id": "cnv_" + secrets.token_hex(6)}),
    ("DELETE", "/v1/conversations/{conversationId}"): (204, None),
    ("POST", "/v1/conversations/{conversationId}/messages"): (200, lambda: {"content": "hi"}),
    ("GET", "/ok"): (200, lambda: {"ok": True}),
    ("GET", "/fail"): (500, lambda: {"error": {"code": "internal"}}),
}


class FakePlatform:
    def __init__(self, delay_seconds: float = 0.0, failing: tuple[str, ...] = ()) -> None:
        self.delay_seconds = delay_seconds
        self.failing = set(failing)
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = _IDS.sub(lambda m: "/" + _NAMES[m.group(1)], request.path)
        key = f"{request.method} {path}"
        with self._lock:
            self.hits[key] += 1
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        status, body = _ROUTES.get((request.method, path), (404, lambda: {"error": {}}))
        if key in self.failing:
            status, body = 500, lambda: {"error": {"code": "internal"}}
        payload = json.dumps(body()) if body is not None else ""
        response = Response(payload, status=status, mimetype="application/json")
        return response(environ, start_response)


@contextmanager
def serve(app: FakePlatform) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
