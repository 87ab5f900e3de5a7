"""The request deadline: a handler that outlives it gets a 503 with Retry-After in time,
and commits nothing after it; a route's own budget replaces the default."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from infra import manifest
from infra.local.emulators import Emulators
from shared.chat import sweeps
from shared.core import deadline, log
from shared.core.settings import get_settings
from shared.gcp import firestore
from shared.github import deliveries
from shared.llm import settings as model_settings
from shared.loadtest import runs as loadtest_runs
from shared.tools import registry as tool_registry
from shared.web import sse
from shared.web.api import Api, Call, Reply
from tests.support.faults import frozen


def app(handler: Callable[[Call], Reply] | Callable[[Call], Response]) -> Client:
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


def app_of(api: Api) -> Client:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        response: Response = api(Request(environ))
        return response(environ, start_response)

    return Client(wsgi)


def test_a_route_with_a_budget_of_its_own_is_held_to_it_not_to_the_default(
    settings: Callable[..., None],
) -> None:
    settings(REQUEST_DEADLINE_SECONDS="0.3")
    api = Api("deadline-test")

    @api.route("/v1/long", public=True, deadline=lambda: 1.5)
    def long(call: Call) -> Reply:
        time.sleep(0.6)
        return Reply({"done": "yes"})

    @api.route("/v1/longer", public=True, deadline=lambda: 0.6)
    def longer(call: Call) -> Reply:
        time.sleep(1.5)
        return Reply({"done": "yes"})

    client = app_of(api)
    started = time.monotonic()
    late = client.get("/v1/longer")
    elapsed = time.monotonic() - started

    assert client.get("/v1/long").status_code == 200
    assert late.status_code == 503
    assert int(late.headers["Retry-After"]) >= 1
    assert 0.5 < elapsed < 1.4


@pytest.mark.parametrize("commit", ["set", "batch", "create_once", "transaction"])
def test_a_handler_that_outlives_its_deadline_commits_nothing(
    settings: Callable[..., None], firestore_db: Any, commit: str
) -> None:
    settings(REQUEST_DEADLINE_SECONDS="0.4")
    ref = firestore_db.collection("deadline_test").document(f"late-{commit}")
    key = firestore_db.collection("deadline_test").document(f"key-{commit}")
    done = threading.Event()
    outcome: dict[str, BaseException | None] = {}

    def late_writer(call: Call) -> Reply:
        try:
            time.sleep(0.8)  # the client has its 503 by now
            if commit == "set":
                ref.set({"late": True})
            elif commit == "batch":
                batch = firestore_db.batch()
                batch.set(ref, {"late": True})
                batch.commit()
            elif commit == "create_once":
                firestore.create_once(key, {"at": 1}, lambda writer: writer.set(ref, {"late": 1}))
            else:
                firestore.transaction(lambda writer: writer.set(ref, {"late": True}))
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc
            raise
        finally:
            done.set()
        return Reply({"late": "yes"})

    answer = app(late_writer).get("/v1/slow")
    assert done.wait(10)

    assert answer.status_code == 503
    assert isinstance(outcome["error"], deadline.DeadlinePassed)
    assert not ref.get().exists
    assert not key.get().exists


def test_firestore_calls_are_capped_by_the_time_left_before_the_deadline(
    settings: Callable[..., None], firestore_db: Any, emulators: Emulators
) -> None:
    # FIRESTORE_CALL_TIMEOUT_SECONDS alone would let the read wait 10 s.
    settings(REQUEST_DEADLINE_SECONDS="1", FIRESTORE_CALL_TIMEOUT_SECONDS="10")
    ref = firestore_db.collection("deadline_test").document("read")
    ref.get()  # connected before the freeze
    done = threading.Event()
    took: dict[str, float] = {}

    def reader(call: Call) -> Reply:
        started = time.monotonic()
        try:
            ref.get()
        finally:
            took["read"] = time.monotonic() - started
            done.set()
        return Reply({"read": "yes"})

    with frozen(emulators.firestore_port):
        answer = app(reader).get("/v1/slow")
        assert done.wait(10)

    assert answer.status_code == 503
    assert took["read"] < 2.5


def test_every_routes_default_budget_ends_before_its_functions_cloud_run_timeout(
    settings: Callable[..., None],
) -> None:
    # Defaults only: a 503 from the deadline, not Cloud Run cutting the request off.
    settings(
        REQUEST_DEADLINE_SECONDS=None,
        ANTHROPIC_TIMEOUT_SECONDS=None,
        GITHUB_WEBHOOK_DEADLINE_SECONDS=None,
    )
    timeouts = {entry.name: entry.scaling.timeout_seconds for entry in manifest.load().functions}
    budgets = {
        "chat": model_settings.chat_answer_deadline_seconds(),
        "persona-router": model_settings.persona_chat_deadline_seconds(),
        "loadtest": loadtest_runs.run_deadline_seconds(),
        "webhook": deliveries.webhook_deadline_seconds(),
        "sweep": sweeps.sweep_deadline_seconds(),
        **dict.fromkeys(("ops", "mcp"), tool_registry.call_deadline_seconds()),
        **{name: get_settings().request_deadline_seconds for name in ("agents", "guest-session")},
    }

    assert budgets["chat"] == 130.0  # the model's 120 s, plus 10 s for Firestore
    assert budgets["loadtest"] == 140.0  # the longest run (120 s), its last requests, storing
    assert budgets["webhook"] == 5.0  # GitHub gives up at 10 s
    for name, budget in budgets.items():
        assert budget < timeouts[name], name


def test_a_stream_answered_in_time_is_not_held_to_the_handlers_budget(
    settings: Callable[..., None], firestore_db: Any
) -> None:
    settings(REQUEST_DEADLINE_SECONDS="0.3")
    ref = firestore_db.collection("deadline_test").document("streamed")
    seen: dict[str, Any] = {}

    def body() -> Iterator[bytes]:
        yield sse.frame("message.created", {})
        time.sleep(0.6)  # past the budget: the answer was already under way
        seen["remaining"] = deadline.remaining()
        ref.set({"stored": True})
        yield sse.frame("done", {})

    def streaming(call: Call) -> Response:
        return sse.response(body())

    answer = app(streaming).get("/v1/slow")

    assert answer.status_code == 200
    assert b"event: done" in answer.data
    assert seen["remaining"] is None
    assert ref.get().to_dict() == {"stored": True}
