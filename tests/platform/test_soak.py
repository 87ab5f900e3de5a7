"""`make soak`: 50 concurrent guests for 60 seconds against the local stack (loopback).

Each guest makes a session, an agent on the offline model and a conversation, then chats
(paced under the per-user quota), reads its agent and asks the persona router. Afterwards
no answer may be a 5xx, and every agent's `stats.totalRuns` must equal the chat messages
that actually completed for it. Bounded by `SOAK_SECONDS` and `SOAK_GUESTS`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.soak]

GUESTS = int(os.environ.get("SOAK_GUESTS", "50"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
CHAT_PAUSE_SECONDS = 3.2  # 60 s / 20 messages per minute (the default quota), with room


@dataclass
class GuestRun:
    agent_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    completed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


async def guest(http: httpx.AsyncClient, deadline: float) -> GuestRun:
    run = GuestRun()

    async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        response = await http.request(method, path, headers=run.headers, **kwargs)  # type: ignore[arg-type]
        run.statuses[response.status_code] += 1
        return response

    session = await call("POST", "/v1/sessions")
    run.headers = {"Authorization": f"Bearer {session.json()['token']}"}
    agent = await call("POST", "/v1/agents", json={"name": "Soak", "model": "offline"})
    run.agent_id = agent.json()["id"]
    conversation = await call("POST", "/v1/conversations", json={"agentId": run.agent_id})
    conversation_id = conversation.json()["id"]
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        sent = await call(
            "POST",
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": f"Soak turn {turn}: what should we measure next?"},
        )
        if sent.status_code == 200 and sent.json()["assistantMessage"]["status"] == "completed":
            run.completed += 1
        await call("GET", f"/v1/agents/{run.agent_id}")
        await call("POST", "/v1/personas/route", json={"message": f"turn {turn}, any risks?"})
        await asyncio.sleep(min(CHAT_PAUSE_SECONDS, max(0.0, deadline - time.monotonic())))
    return run


async def soak(base_url: str) -> list[GuestRun]:
    limits = httpx.Limits(max_connections=GUESTS * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        deadline = time.monotonic() + SECONDS
        return list(await asyncio.gather(*(guest(http, deadline) for _ in range(GUESTS))))


def settled_runs(base_url: str, runs: list[GuestRun], timeout: float = 60) -> dict[str, int]:
    """Each agent's totalRuns, polled until they match or `timeout` passes."""
    totals: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while True:
            totals = {
                run.agent_id: http.get(f"/v1/agents/{run.agent_id}", headers=run.headers).json()[
                    "stats"
                ]["totalRuns"]
                for run in runs
            }
            if all(totals[run.agent_id] == run.completed for run in runs):
                return totals
            if time.monotonic() > deadline:
                return totals
            time.sleep(1)


def test_fifty_guests_for_a_minute_no_5xx_and_exact_stats(local_stack: RunningStack) -> None:
    runs = asyncio.run(soak(local_stack.url))
    totals = settled_runs(local_stack.url, runs)

    statuses: Counter[int] = sum((run.statuses for run in runs), Counter())
    completed = sum(run.completed for run in runs)
    mismatched = [run.agent_id for run in runs if totals[run.agent_id] != run.completed]
    summary = {
        "guests": GUESTS,
        "seconds": SECONDS,
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "chatMessagesCompleted": completed,
        "agentsWithWrongTotals": len(mismatched),
    }
    results = ROOT / "bench" / "results"
    Path(results / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    trouble = [
        line
        for line in local_stack.output
        if '"severity": "WARNING"' in line
        or '"severity": "ERROR"' in line
        or " 503" in line
        or " 500" in line
    ]
    print("\n".join(trouble[:50]))

    assert [code for code in statuses if code >= 500] == []
    assert completed > 0
    assert mismatched == []
