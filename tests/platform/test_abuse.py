"""`make abuse`: an attacker's session against the spend bounds of a fresh local stack.

Phase one: many sessions and messages from one client address. Phase two: the same from
many addresses (X-Forwarded-For through the gateway, trusted one hop further for the
run). Every guest sends long messages in parallel until it is refused. Afterwards the
tokens the answers report must sit inside every budget: per guest, per address and for
the deployment. Figures go to bench/results/abuse.json and docs/testing.md.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import ROOT, RunningStack, start_stack, stop_stack

pytestmark = [pytest.mark.e2e, pytest.mark.abuse]

GUEST_TOKENS = 20_000
ADDRESS_TOKENS = 60_000
DEPLOYMENT_TOKENS = 400_000
SESSIONS_PER_ADDRESS = 10
ADDRESSES = int(os.environ.get("ABUSE_ADDRESSES", "30"))
MESSAGE = "Please summarise this. " * 350  # ~8,000 characters: ~2,000 input tokens


@dataclass
class Tally:
    sessions: Counter[int] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    tokens_by_address: Counter[str] = field(default_factory=Counter)
    tokens_by_guest: Counter[str] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    running = start_stack(
        {
            "OFFLINE_CHUNK_DELAY_MS": "0",
            "FORWARDED_CLIENT_HOP": "2",
            "SESSION_CREATE_PER_MINUTE": str(SESSIONS_PER_ADDRESS),
            "CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE": "60",
            "CHAT_MESSAGES_PER_MINUTE": "0",
            "CHAT_TOKENS_PER_DAY": str(GUEST_TOKENS),
            "CHAT_TOKENS_PER_ADDRESS_PER_DAY": str(ADDRESS_TOKENS),
            "CHAT_TOKENS_PER_DAY_GLOBAL": str(DEPLOYMENT_TOKENS),
            "FIRESTORE_CALL_TIMEOUT_SECONDS": "4",
            "REQUEST_DEADLINE_SECONDS": "10",
        }
    )
    yield running
    stop_stack(running)


def attack(stack: RunningStack, addresses: list[str], sessions_each: int, tally: Tally) -> None:
    def open_session(address: str) -> tuple[str, str | None]:
        with httpx.Client(base_url=stack.url, timeout=60) as http:
            created = http.post("/v1/sessions", headers={"X-Forwarded-For": address})
        tally.sessions[created.status_code] += 1
        return address, created.json()["token"] if created.status_code == 201 else None

    with ThreadPoolExecutor(16) as pool:
        opened = list(pool.map(open_session, [a for a in addresses for _ in range(sessions_each)]))
    guests = [(address, token) for address, token in opened if token]

    def spend(guest: tuple[str, str]) -> None:
        address, token = guest
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}
        with httpx.Client(base_url=stack.url, timeout=60) as http:
            agent = http.post("/v1/agents", json={"name": "A", "model": "offline"}, headers=headers)
            conversation = http.post(
                "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
            ).json()
            for _ in range(20):
                answer = http.post(
                    f"/v1/conversations/{conversation['id']}/messages",
                    json={"content": MESSAGE},
                    headers=headers,
                )
                if answer.status_code != 200:
                    message = answer.json()["error"]["message"]
                    tally.messages[f"{answer.status_code} {message.split(':')[0]}"] += 1
                    if answer.status_code == 429 and "minute" in message:
                        time.sleep(int(answer.headers["Retry-After"]))
                        continue
                    return
                usage = answer.json()["assistantMessage"]
                tokens = usage["inputTokens"] + usage["outputTokens"]
                tally.messages["200"] += 1
                tally.tokens_by_address[address] += tokens
                tally.tokens_by_guest[token[-8:]] += tokens

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(spend, guests))


def test_spend_stays_inside_every_budget_under_abuse(stack: RunningStack) -> None:
    started = time.monotonic()
    one = Tally()
    attack(stack, ["203.0.113.1"], 60, one)
    many = Tally()
    attack(stack, [f"198.18.{n // 250}.{n % 250 + 1}" for n in range(ADDRESSES)], 12, many)
    elapsed = time.monotonic() - started

    figures = {
        "seconds": round(elapsed, 1),
        "budgets": {
            "sessionsPerAddressPerMinute": SESSIONS_PER_ADDRESS,
            "tokensPerGuestPerDay": GUEST_TOKENS,
            "tokensPerAddressPerDay": ADDRESS_TOKENS,
            "tokensPerDeployment": DEPLOYMENT_TOKENS,
        },
        "oneAddress": summary(one),
        "manyAddresses": {"addresses": ADDRESSES, **summary(many)},
        "deploymentTokens": sum(one.tokens_by_address.values())
        + sum(many.tokens_by_address.values()),
    }
    (ROOT / "bench" / "results" / "abuse.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))

    assert one.sessions[201] <= SESSIONS_PER_ADDRESS * 2  # at most two minute windows
    for tally in (one, many):
        assert max(tally.tokens_by_guest.values()) <= GUEST_TOKENS
        assert max(tally.tokens_by_address.values()) <= ADDRESS_TOKENS
        assert not any(key.startswith("5") for key in tally.messages if key != "503")
    assert figures["deploymentTokens"] <= DEPLOYMENT_TOKENS


def summary(tally: Tally) -> dict[str, object]:
    return {
        "sessions": {str(k): v for k, v in sorted(tally.sessions.items())},
        "messages": dict(sorted(tally.messages.items())),
        "tokensSpent": sum(tally.tokens_by_address.values()),
        "maxTokensPerGuest": max(tally.tokens_by_guest.values(), default=0),
        "maxTokensPerAddress": max(tally.tokens_by_address.values(), default=0),
    }
