"""The stack's control endpoint (infra/local/control.py) over HTTP, with a stand-in stack, and
the local adapter's answers when there is no stack to reach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.control import Control, StackError
from infra.local.emulators import free_port
from infra.local.logbook import LogBook
from shared.core import errors

TOKEN = "control-token-0123456789"


class StandIn:
    def __init__(self) -> None:
        self.logbook = LogBook()
        self.restarts: list[tuple[str, bool]] = []

    def function_names(self) -> list[str]:
        return ["chat", "webhook"]

    def function_views(self, minutes: float) -> list[dict[str, Any]]:
        return [{"name": "chat", "minutes": minutes}]

    def revision_views(self, minutes: float) -> list[dict[str, Any]]:
        return []

    def restart(self, name: str, wait: bool) -> tuple[int, dict[str, Any]]:
        self.restarts.append((name, wait))
        if name == "webhook":
            raise StackError(409, "conflict", "webhook is restarting already")
        return (200 if wait else 202), {"function": name, "ready": wait}


@pytest.fixture
def control() -> Iterator[tuple[StandIn, str]]:
    stack = StandIn()
    served = Control(stack, TOKEN, free_port()).start()
    yield stack, served.url
    served.stop()


def test_only_the_operator_token_is_served(control: tuple[StandIn, str]) -> None:
    _, url = control

    anonymous = httpx.get(f"{url}/functions")
    wrong = httpx.get(f"{url}/functions", headers={"Authorization": "Bearer nope"})
    right = httpx.get(f"{url}/functions?minutes=5", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert right.json() == {"minutes": 5.0, "functions": [{"name": "chat", "minutes": 5.0}]}


def test_a_restart_waits_unless_told_not_to_and_errors_keep_their_status(
    control: tuple[StandIn, str],
) -> None:
    stack, url = control
    auth = {"Authorization": f"Bearer {TOKEN}"}

    waited = httpx.post(f"{url}/functions/chat/restart", headers=auth)
    at_once = httpx.post(f"{url}/functions/chat/restart?wait=0", headers=auth)
    busy = httpx.post(f"{url}/functions/webhook/restart", headers=auth)
    unknown = httpx.post(f"{url}/functions/nginx/restart", headers=auth)

    assert (waited.status_code, at_once.status_code) == (200, 202)
    assert stack.restarts == [("chat", True), ("chat", False), ("webhook", True)]
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "conflict"
    assert unknown.status_code == 404


def test_logs_are_queried_with_bounds(control: tuple[StandIn, str]) -> None:
    stack, url = control
    auth = {"Authorization": f"Bearer {TOKEN}"}
    stack.logbook.add("chat", "12:00:00  ERROR  model stalled")

    found = httpx.get(f"{url}/logs?function=chat&severity=error&limit=5", headers=auth)
    bad_severity = httpx.get(f"{url}/logs?severity=LOUD", headers=auth)
    too_many = httpx.get(f"{url}/logs?limit=5000", headers=auth)
    unknown = httpx.get(f"{url}/logs?function=nginx", headers=auth)

    assert [e["message"] for e in found.json()["entries"]] == ["model stalled"]
    assert (bad_severity.status_code, too_many.status_code, unknown.status_code) == (400, 400, 404)


def test_the_local_adapter_without_a_stack_says_what_is_missing(settings: Any) -> None:
    from shared.platform_ops.adapter import get_adapter

    settings(PLATFORM_ADAPTER="local", PLATFORM_LOCAL_STACK_URL=None)

    with pytest.raises(errors.Unprocessable, match="no local stack to act on"):
        get_adapter().status(["chat"], 5)


def test_the_local_adapter_with_a_stack_gone_is_a_dependency_failure(settings: Any) -> None:
    from shared.platform_ops.adapter import get_adapter

    settings(PLATFORM_ADAPTER="local", PLATFORM_LOCAL_STACK_URL=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(errors.DependencyUnavailable, match="is `make run` still running"):
        get_adapter().status(["chat"], 5)
