"""The request deadline: a handler that outlives it gets a 503 with Retry-After in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from shared.core import log
from shared.web.api import Api, Call, Reply


def app(handler: Callable[[Call], Reply]) -> Client:
    api = Api("deadline-test")
    api.route("/v1/slow", public=True)(handler)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        response: Response = api(Request(environ))
        return response(environ, start_response)

    return Client(wsgi)


def test_a_handler_past_the_deadline_answers_503_with_retry_after_in_time(
    settings: Callable[..., None],
) -> None:
    settings(REQUEST_DEADLINE_SECONDS="0.5")
    release = threading.Event()

    def slow(call: Call) -> Reply:
        release.wait(5)
        return Reply({"late": "yes"})

    started = time.monotonic()
    answer = app(slow).get("/v1/slow")
    elapsed = time.monotonic() - started
    release.set()

    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.get_json()["error"]["code"] == "unavailable"
    assert elapsed < 2


def test_the_handler_runs_with_the_requests_context(settings: Callable[..., None]) -> None:
    settings(REQUEST_DEADLINE_SECONDS="5")

    def echo(call: Call) -> Reply:
        bound = log._request_id.get()  # the logger's context: what log lines carry
        return Reply({"requestId": bound or "", "callId": call.request_id})

    answer = app(echo).get("/v1/slow", headers={"X-Request-Id": "a" * 32})

    assert answer.status_code == 200
    assert answer.get_json() == {"requestId": "a" * 32, "callId": "a" * 32}
