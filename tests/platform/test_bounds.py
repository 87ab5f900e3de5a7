"""Bounds on the real stack: spend counted in Firestore, so the bounds hold across
processes, and a deadline on every route, so a frozen Firestore gets 503s, not hangs.

A stack of its own (small budgets, and the gateway's X-Forwarded-For trusted one hop
further, so a test can speak for many client addresses), with the offline model.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from shared.github import deliveries as github
from tests.conftest import E2E_ADMIN_TOKEN, ROOT, RunningStack, start_stack, stop_stack
from tests.support.faults import listening_pids

GUEST_TOKENS_PER_DAY = 6000
LONG_MESSAGE = "tokens " * 400  # 2,800 characters: about 700 tokens of input
WEBHOOK_SECRET = "ghs-bounds-" + os.urandom(8).hex()
DEADLINE = 10.0


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
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REQUEST_DEADLINE_SECONDS": str(DEADLINE),
            # The routes with budgets of their own get the same one here.
            "CHAT_ANSWER_DEADLINE_SECONDS": str(DEADLINE),
            "PERSONA_CHAT_DEADLINE_SECONDS": str(DEADLINE),
            "LOADTEST_RUN_DEADLINE_SECONDS": str(DEADLINE),
            "GITHUB_WEBHOOK_DEADLINE_SECONDS": "5",  # its production default
            "FIRESTORE_CALL_TIMEOUT_SECONDS": "4",
        }
    )
    warm_up(stack)
    yield stack
    stop_stack(stack)


def warm_up(stack: RunningStack) -> None:
    """One request through each function that the tests time, so a cold start (imports,
    the emulators' own first calls) is not mistaken for a deadline."""
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        while time.monotonic() < deadline:
            created = http.post("/v1/sessions", headers={"X-Forwarded-For": "192.0.2.1"})
            if created.status_code == 201:
                break
            time.sleep(1)
        headers = {"Authorization": f"Bearer {created.json()['token']}"}
        agent = http.post("/v1/agents", json={"name": "Warm", "model": "offline"}, headers=headers)
        conversation = http.post(
            "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
        ).json()
        http.post(
            f"/v1/conversations/{conversation['id']}/messages",
            json={"content": "warm"},
            headers=headers,
        )
        http.post("/v1/personas/route", json={"message": "warm"}, headers=headers)
        operator = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
        http.get("/v1/alerts", headers=operator)
        http.get("/v1/loadtests/runs", headers=operator)
        http.get("/v1/dashboard/stats", headers=headers)


def away_from_a_minute_boundary() -> None:
    """Per-minute windows are fixed: start a burst with at least 15 s left in the minute."""
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.5)


@pytest.fixture
def http(bounded_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bounded_stack.url, timeout=60) as client:
        yield client


def new_guest(http: httpx.Client, address: str) -> dict[str, str]:
    created = http.post("/v1/sessions", headers={"X-Forwarded-For": address})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def test_sessions_per_address_hold_across_the_gateway_and_functions(http: httpx.Client) -> None:
    away_from_a_minute_boundary()
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


# -- a frozen Firestore: every route answers 503 within the deadline ----------------------


def test_with_firestore_frozen_every_route_answers_503_within_the_deadline(
    http: httpx.Client, bounded_stack: RunningStack
) -> None:
    headers = new_guest(http, "198.51.100.30")
    agent = http.post("/v1/agents", json={"name": "Frozen", "model": "offline"}, headers=headers)
    conversation = http.post(
        "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
    ).json()
    push = (ROOT / "tests" / "data" / "github" / "push.json").read_bytes()
    operator = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/v1/sessions", {}),
        ("GET", "/v1/sessions/current", {"headers": headers}),
        ("GET", "/v1/agents", {"headers": headers}),
        ("POST", "/v1/agents", {"headers": headers, "json": {"name": "More"}}),
        ("PATCH", f"/v1/agents/{agent.json()['id']}", {"headers": headers, "json": {"name": "X"}}),
        ("GET", "/v1/dashboard/stats", {"headers": headers}),
        (
            "GET",
            "/v1/conversations",
            {"headers": headers, "params": {"agentId": agent.json()["id"]}},
        ),
        (
            "POST",
            f"/v1/conversations/{conversation['id']}/messages",
            {"headers": {**headers, "Accept": "text/event-stream"}, "json": {"content": "hi"}},
        ),
        (
            "POST",
            f"/v1/conversations/{conversation['id']}/messages",
            {"headers": headers, "json": {"content": "a JSON answer"}},
        ),
        ("POST", "/v1/personas/route", {"headers": headers, "json": {"message": "help me"}}),
        ("POST", "/v1/personas/chat", {"headers": headers, "json": {"message": "help me"}}),
        (
            "POST",
            "/v1/loadtests/runs",
            {
                "headers": operator,
                "json": {
                    "scenario": "light",
                    "targetBaseUrl": bounded_stack.url,
                    "durationSeconds": 3,
                    "users": 1,
                    "maxRequests": 20,
                },
            },
        ),
        ("GET", "/v1/alerts", {"headers": operator}),
        ("GET", "/v1/loadtests/runs", {"headers": operator}),
        (
            "POST",
            "/v1/webhooks/github",
            {
                "content": push,
                "headers": {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                    "X-Hub-Signature-256": github.signature_for(push, WEBHOOK_SECRET.encode()),
                },
            },
        ),
    ]

    def call(item: tuple[str, str, dict[str, Any]]) -> tuple[str, int, float, str]:
        method, path, options = item
        started = time.monotonic()
        with httpx.Client(base_url=bounded_stack.url, timeout=60) as own:
            answer = own.request(method, path, **options)
        retry_after = answer.headers.get("Retry-After", "")
        return f"{method} {path}", answer.status_code, time.monotonic() - started, retry_after

    pids = listening_pids(bounded_stack.ports[1])
    assert pids, "the Firestore emulator's process was not found"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(6)  # past SESSION_CACHE_SECONDS: tokens must be looked up again
        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(call, calls))
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    for route, status, seconds, retry_after in answers:
        assert status == 503, (route, status)
        budget = 5 if "webhooks" in route else DEADLINE
        assert seconds < budget + 2, (route, seconds)
        assert int(retry_after) >= 1, route


def test_with_pubsub_frozen_the_webhook_acknowledges_well_within_githubs_10_s(
    http: httpx.Client, bounded_stack: RunningStack
) -> None:
    push = (ROOT / "tests" / "data" / "github" / "push.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": github.signature_for(push, WEBHOOK_SECRET.encode()),
    }
    pids = listening_pids(bounded_stack.ports[2])
    assert pids, "the Pub/Sub emulator's process was not found"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        delivered = http.post("/v1/webhooks/github", content=push, headers=headers)
        elapsed = time.monotonic() - started
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    assert delivered.status_code == 202, delivered.text
    assert elapsed < 5  # the event waits in the outbox for the relay
