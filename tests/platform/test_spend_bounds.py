"""Spend bounds on the real stack: counted in Firestore, so they hold across processes.

A stack of its own (small budgets, and the gateway's X-Forwarded-For trusted one hop
further, so a test can speak for many client addresses), with the offline model.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import RunningStack, start_stack, stop_stack

GUEST_TOKENS_PER_DAY = 6000
LONG_MESSAGE = "tokens " * 400  # 2,800 characters: about 700 tokens of input


@pytest.fixture(scope="module")
def bounded_stack() -> Iterator[RunningStack]:
    stack = start_stack(
        {
            "OFFLINE_CHUNK_DELAY_MS": "0",
            "FORWARDED_CLIENT_HOP": "2",
            "SESSION_CREATE_PER_MINUTE": "3",
            "CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE": "1000",
            "CHAT_TOKENS_PER_ADDRESS_PER_DAY": "0",
            "CHAT_MESSAGES_PER_MINUTE": "0",
            "CHAT_TOKENS_PER_DAY": str(GUEST_TOKENS_PER_DAY),
            "CHAT_MAX_OUTPUT_TOKENS": "300",
            "CHAT_HISTORY_TOKEN_BUDGET": "200",
        }
    )
    yield stack
    stop_stack(stack)


@pytest.fixture
def http(bounded_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bounded_stack.url, timeout=60) as client:
        yield client


def new_guest(http: httpx.Client, address: str) -> dict[str, str]:
    created = http.post("/v1/sessions", headers={"X-Forwarded-For": address})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def test_sessions_per_address_hold_across_the_gateway_and_functions(http: httpx.Client) -> None:
    statuses = [
        http.post("/v1/sessions", headers={"X-Forwarded-For": "198.51.100.1"}) for _ in range(5)
    ]
    elsewhere = http.post("/v1/sessions", headers={"X-Forwarded-For": "198.51.100.2"})

    assert [r.status_code for r in statuses] == [201, 201, 201, 429, 429]
    refused = statuses[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "guest sessions per client address" in refused.json()["error"]["message"]
    assert elsewhere.status_code == 201


def test_parallel_sends_cannot_overshoot_the_daily_budget(http: httpx.Client) -> None:
    headers = new_guest(http, "198.51.100.10")
    agent = http.post("/v1/agents", json={"name": "Spender", "model": "offline"}, headers=headers)
    conversations = [
        http.post("/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers)
        for _ in range(6)
    ]

    def send_until_refused(conversation: dict[str, Any]) -> list[int]:
        spent = []
        with httpx.Client(base_url=str(http.base_url), timeout=60) as own:
            for _ in range(8):
                answer = own.post(
                    f"/v1/conversations/{conversation['id']}/messages",
                    json={"content": LONG_MESSAGE},
                    headers=headers,
                )
                if answer.status_code == 429:
                    assert "daily token budget of this guest" in answer.json()["error"]["message"]
                    assert int(answer.headers["Retry-After"]) >= 1
                    break
                assert answer.status_code == 200, answer.text
                usage = answer.json()["assistantMessage"]
                spent.append(usage["inputTokens"] + usage["outputTokens"])
        return spent

    with ThreadPoolExecutor(6) as pool:
        per_thread = list(pool.map(send_until_refused, [c.json() for c in conversations]))

    spent = sum(sum(answers) for answers in per_thread)
    assert sum(len(answers) for answers in per_thread) >= 2  # the budget was used...
    assert spent <= GUEST_TOKENS_PER_DAY  # ...and never overshot, not even by one reply
    assert any(len(answers) < 8 for answers in per_thread)  # and it refused the rest


def test_a_model_outside_the_allowlist_never_reaches_the_model(http: httpx.Client) -> None:
    headers = new_guest(http, "198.51.100.20")

    refused = http.post(
        "/v1/agents", json={"name": "Pricey", "model": "any-model-name-at-all"}, headers=headers
    )

    assert refused.status_code == 400
    assert "not allowed" in refused.text
