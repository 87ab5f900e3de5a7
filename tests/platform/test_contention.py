"""Contention on the real stack: parallel writes to one document never answer 500."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import RunningStack

PARALLEL = 16


@pytest.fixture
def guest(local_stack: RunningStack) -> Iterator[tuple[str, dict[str, str]]]:
    with httpx.Client(base_url=local_stack.url, timeout=60) as http:
        token = http.post("/v1/sessions").json()["token"]
    yield local_stack.url, {"Authorization": f"Bearer {token}"}


def statuses(
    url: str, calls: list[tuple[str, str, dict[str, object]]], headers: dict[str, str]
) -> Counter[int]:
    def call(item: tuple[str, str, dict[str, object]]) -> int:
        method, path, body = item
        with httpx.Client(base_url=url, timeout=60) as http:
            return http.request(method, path, json=body, headers=headers).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        return Counter(pool.map(call, calls))


def test_parallel_updates_of_one_agent_never_answer_500(
    guest: tuple[str, dict[str, str]],
) -> None:
    url, headers = guest
    with httpx.Client(base_url=url, timeout=60) as http:
        agent = http.post("/v1/agents", json={"name": "Busy", "model": "offline"}, headers=headers)
    path = f"/v1/agents/{agent.json()['id']}"

    counts = statuses(
        url, [("PATCH", path, {"name": f"Name {n}"}) for n in range(PARALLEL)], headers
    )

    assert set(counts) <= {200, 409, 503}, counts
    assert counts[200] >= 1


def test_parallel_messages_into_one_conversation_never_answer_500(
    guest: tuple[str, dict[str, str]],
) -> None:
    url, headers = guest
    with httpx.Client(base_url=url, timeout=60) as http:
        agent = http.post("/v1/agents", json={"name": "Busy", "model": "offline"}, headers=headers)
        conversation = http.post(
            "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
        ).json()
    path = f"/v1/conversations/{conversation['id']}/messages"

    counts = statuses(url, [("POST", path, {"content": f"m{n}"}) for n in range(PARALLEL)], headers)

    assert set(counts) <= {200, 409, 429, 503}, counts
    assert counts[200] >= 1
