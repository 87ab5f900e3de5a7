"""The load-test scenarios: what a virtual user of the platform does, and how many there are.

Each virtual user creates ONE guest session and reuses it (session creation is limited per
client address, 60 a minute by default), then mixes session checks, agent creation and
listing, persona routing and chat messages. Agents use the built-in `offline` model unless
the run explicitly allows spending model tokens. What a user creates it deletes at the
end; the budget for that clean-up is reserved when the thing is created.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from shared.loadtest.runner import StopUser, UserBehaviour, VirtualUser

OFFLINE_MODEL = "offline"
MAX_AGENTS_PER_USER = 3
# Below the chat function's default per-user quota (CHAT_MESSAGES_PER_MINUTE=20), so a
# run measures latency rather than the quota's 429s.
CHAT_MESSAGES_PER_USER_MINUTE = 15
MESSAGES = (
    "How do I deploy a Cloud Run function with Terraform?",
    "Write a haiku about autumn in the mountains.",
    "Explain the difference between a process and a thread.",
    "What should I cook tonight with rice, eggs and spinach?",
    "Review this plan: we migrate the database on Friday evening.",
    "I feel stuck on my essay, can you help me start?",
)

# Endpoint names group requests whose paths differ only by ids.
SESSION_CREATE = "POST /v1/sessions"
SESSION_CURRENT = "GET /v1/sessions/current"
SESSION_REVOKE = "DELETE /v1/sessions/current"
AGENT_CREATE = "POST /v1/agents"
AGENT_LIST = "GET /v1/agents"
AGENT_DELETE = "DELETE /v1/agents/{agentId}"
PERSONA_ROUTE = "POST /v1/personas/route"
CONVERSATION_CREATE = "POST /v1/conversations"
CONVERSATION_DELETE = "DELETE /v1/conversations/{conversationId}"
MESSAGE_SEND = "POST /v1/conversations/{conversationId}/messages"


@dataclass(frozen=True)
class Scenario:
    """A named load shape; a run may override users, spawn rate and duration."""

    name: str
    description: str
    users: int
    spawn_rate: float
    duration_seconds: float
    wait_seconds: tuple[float, float]

    def behaviour(self, model: str) -> UserBehaviour:
        return _behaviour(self.wait_seconds, model)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("light", "2 users, unhurried: a smoke test", 2, 2.0, 15.0, (0.5, 1.5)),
        Scenario("medium", "8 users at a steady pace", 8, 4.0, 30.0, (0.2, 0.8)),
        Scenario("heavy", "24 users with little think time", 24, 8.0, 60.0, (0.05, 0.3)),
        Scenario("spike", "40 users arriving at once", 40, 40.0, 20.0, (0.0, 0.1)),
    )
}


def _behaviour(wait_seconds: tuple[float, float], model: str) -> UserBehaviour:
    async def create_agent(user: VirtualUser) -> None:
        if len(user.state.setdefault("agents", [])) >= MAX_AGENTS_PER_USER:
            await list_agents(user)
            return
        await _create_agent(user, model)

    return UserBehaviour(
        setup=start_session,
        tasks=(
            (check_session, 3),
            (list_agents, 3),
            (create_agent, 1),
            (route_persona, 2),
            (lambda user: send_message(user, model), 2),
        ),
        wait_seconds=wait_seconds,
        teardown=clean_up,
    )


def _created(response: Any, *names: str) -> str | None:
    """The first of `names` that a 201 answer holds as a string, else None."""
    if response is None or response.status_code != 201:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    for name in names:
        value = body.get(name) if isinstance(body, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


async def start_session(user: VirtualUser) -> None:
    """One session per virtual user, revoked at the end; without one the user stops."""
    user.reserve()
    response = await user.call(SESSION_CREATE, "POST", "/v1/sessions", expect=(201,))
    token = _created(response, "token")
    if token is None:
        user.release()
        raise StopUser("no guest session")
    user.headers["Authorization"] = f"Bearer {token}"


async def check_session(user: VirtualUser) -> None:
    await user.call(SESSION_CURRENT, "GET", "/v1/sessions/current")


async def list_agents(user: VirtualUser) -> None:
    await user.call(AGENT_LIST, "GET", "/v1/agents?limit=20")


async def _create_agent(user: VirtualUser, model: str) -> str | None:
    user.reserve()
    body = {
        "name": f"loadtest-{user.index}-{secrets.token_hex(3)}",
        "description": "created by a load test; deleted when the run ends",
        "systemPrompt": "You are a concise assistant.",
        "model": model,
        "tags": ["loadtest"],
    }
    response = await user.call(AGENT_CREATE, "POST", "/v1/agents", json=body, expect=(201,))
    agent_id = _created(response, "id", "agentId")
    if agent_id is None:
        user.release()
        return None
    user.state.setdefault("agents", []).append(agent_id)
    return agent_id


async def route_persona(user: VirtualUser) -> None:
    message = user.rng.choice(MESSAGES)
    await user.call(PERSONA_ROUTE, "POST", "/v1/personas/route", json={"message": message})


async def send_message(user: VirtualUser, model: str) -> None:
    """A chat message in the user's conversation, created (with an agent) on first use."""
    now = time.monotonic()
    sent = [at for at in user.state.get("chat_sent", []) if now - at < 60]
    if len(sent) >= CHAT_MESSAGES_PER_USER_MINUTE:
        await check_session(user)
        return
    user.state["chat_sent"] = [*sent, now]
    conversation_id = user.state.get("conversation")
    if conversation_id is None:
        agents = user.state.get("agents") or []
        agent_id = agents[0] if agents else await _create_agent(user, model)
        if agent_id is None:
            return
        user.reserve()
        response = await user.call(
            CONVERSATION_CREATE,
            "POST",
            "/v1/conversations",
            json={"agentId": agent_id, "title": "load test"},
            expect=(201,),
        )
        conversation_id = _created(response, "id", "conversationId")
        if conversation_id is None:
            user.release()
            return
        user.state["conversation"] = conversation_id
    await user.call(
        MESSAGE_SEND,
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": user.rng.choice(MESSAGES)},
    )


async def clean_up(user: VirtualUser) -> None:
    """Delete what the user created, then revoke its session (budget reserved earlier)."""
    conversation_id = user.state.get("conversation")
    if conversation_id:
        await user.call(
            CONVERSATION_DELETE, "DELETE", f"/v1/conversations/{conversation_id}", cleanup=True
        )
    for agent_id in user.state.get("agents", []):
        await user.call(AGENT_DELETE, "DELETE", f"/v1/agents/{agent_id}", cleanup=True)
    if "Authorization" in user.headers:
        await user.call(SESSION_REVOKE, "DELETE", "/v1/sessions/current", cleanup=True)
