"""Agents that act, through `make run`'s stack: a chat whose agent has tools, ops commands,
and the MCP server at /mcp."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import E2E_ADMIN_TOKEN, ROOT, RunningStack, StackPeers
from tests.platform.test_end_to_end import new_session, sse_events

pytestmark = pytest.mark.e2e
OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def http(local_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack.url, timeout=60) as client:
        yield client


def chat_with_tools(
    http: httpx.Client, headers: dict[str, str], model: str, content: str
) -> list[tuple[str, dict[str, Any]]]:
    agent = http.post(
        "/v1/agents",
        json={"name": "Keeper", "model": model, "tools": ["list_my_agents"]},
        headers=headers,
    )
    assert agent.status_code == 201, agent.text
    conversation = http.post(
        "/v1/conversations", json={"agentId": agent.json()["id"]}, headers=headers
    )
    streamed = http.post(
        f"/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": content},
        headers={**headers, "Accept": "text/event-stream"},
    )
    assert streamed.status_code == 200, streamed.text
    return sse_events(streamed)


def test_an_offline_agent_streams_a_tool_call_its_result_then_text_using_it(
    http: httpx.Client,
) -> None:
    other = new_session(http)
    http.post("/v1/agents", json={"name": "Not yours", "model": "offline"}, headers=other)

    events = chat_with_tools(http, new_session(http), "offline", "List my agents, please")

    names = [name for name, _ in events if name != "message.delta"]
    assert names == ["message.created", "tool.call", "tool.result", "message.completed", "done"]
    result = json.loads(dict(events)["tool.result"]["result"])
    assert [agent["name"] for agent in result["agents"]] == ["Keeper"]
    first_text = next(i for i, (name, _) in enumerate(events) if name == "message.delta")
    assert first_text > [name for name, _ in events].index("tool.result")
    answer = dict(events)["message.completed"]["message"]
    assert "Keeper" in answer["content"] and "Not yours" not in answer["content"]
    assert answer["toolCalls"][0]["name"] == "list_my_agents"


def test_a_claude_agent_calls_a_tool_through_the_sdk_and_answers_with_its_result(
    http: httpx.Client, stack_peers: StackPeers
) -> None:
    fake = stack_peers.messages_api
    fake.tool_use = {"name": "list_my_agents", "input": {}}
    try:
        events = chat_with_tools(http, new_session(http), "claude-sonnet-4-6", "my agents?")
    finally:
        fake.tool_use = None

    names = [name for name, _ in events]
    assert names.index("tool.call") < names.index("tool.result") < len(names) - 3
    text = "".join(
        d["text"] for n, d in events[names.index("tool.result") :] if n == "message.delta"
    )
    assert text.startswith("Tool result:") and "Keeper" in text


# -- ops commands -----------------------------------------------------------------------


@pytest.fixture
def claude(stack_peers: StackPeers) -> Iterator[Any]:
    """The stack has a key: Claude (the fake Messages API) picks each command's tool."""
    fake = stack_peers.messages_api
    yield fake
    fake.tool_use = None


def test_a_changing_ops_plan_does_nothing_before_confirm_and_one_thing_after_two(
    http: httpx.Client, claude: Any
) -> None:
    def chat_silences() -> list[dict[str, Any]]:
        claude.tool_use = {"name": "active_silences", "input": {}}
        answer = http.post("/v1/ops/commands", json={"text": "list the silences"}, headers=OPERATOR)
        assert answer.json()["status"] == "done", answer.text
        silences = answer.json()["result"]["silences"]
        return [s for s in silences if s["matchers"][0]["value"] == "chat"]

    claude.tool_use = {"name": "create_silence", "input": {"source": "chat", "durationMinutes": 60}}
    planned = http.post(
        "/v1/ops/commands", json={"text": "채팅 알림을 한 시간 동안 꺼줘"}, headers=OPERATOR
    )
    assert planned.status_code == 201, planned.text
    plan = planned.json()
    assert plan["status"] == "awaiting_confirmation" and plan["plannedBy"] != "offline"
    assert plan["plan"]["tool"] == "create_silence" and plan["plan"]["changes"] is True
    assert chat_silences() == []

    confirm = f"/v1/ops/commands/{plan['id']}/confirm"
    first = http.post(confirm, headers=OPERATOR)
    second = http.post(confirm, headers=OPERATOR)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["result"]["id"] == second.json()["result"]["id"]
    assert [s["id"] for s in chat_silences()] == [first.json()["result"]["id"]]


def test_ops_commands_are_for_operators_only(http: httpx.Client) -> None:
    guest = new_session(http)

    answer = http.post("/v1/ops/commands", json={"text": "list alerts"}, headers=guest)

    assert answer.status_code == 401


def test_the_merged_openapi_documents_the_ops_routes(http: httpx.Client) -> None:
    paths = http.get("/v1/openapi.json").json()["paths"]

    assert "post" in paths["/v1/ops/commands"]
    assert "post" in paths["/v1/ops/commands/{commandId}/confirm"]


# -- the MCP server at /mcp ---------------------------------------------------------------


async def mcp_session(url: str, token: str) -> tuple[list[Any], Any]:
    """The official Python client: list the tools, then call `list_my_agents`."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http_client,
        Client(streamable_http_client(url, http_client=http_client)) as client,
    ):
        listed = await client.list_tools()
        called = await client.call_tool("list_my_agents", {})
    return listed.tools, called


def test_the_python_mcp_client_lists_and_calls_tools_through_the_gateway(
    http: httpx.Client, local_stack: RunningStack
) -> None:
    import anyio

    headers = new_session(http)
    created = http.post("/v1/agents", json={"name": "Via MCP", "model": "offline"}, headers=headers)
    token = headers["Authorization"].split(" ", 1)[1]

    tools, called = anyio.run(mcp_session, f"{local_stack.url}/mcp", token)

    assert {tool.name for tool in tools} == {"list_my_agents", "route_to_persona"}
    assert called.is_error is False
    assert [a["id"] for a in called.structured_content["agents"]] == [created.json()["id"]]


def test_the_operator_token_lists_every_tool_over_mcp(local_stack: RunningStack) -> None:
    import anyio

    tools, _ = anyio.run(mcp_session, f"{local_stack.url}/mcp", E2E_ADMIN_TOKEN)

    assert {"create_silence", "start_loadtest", "active_alerts"} <= {tool.name for tool in tools}


def test_the_typescript_mcp_client_lists_and_calls_tools_through_the_gateway(
    http: httpx.Client, local_stack: RunningStack
) -> None:
    """`@modelcontextprotocol/sdk` from npm (root package.json, installed by `make test`)."""
    script = ROOT / "tests" / "support" / "mcp_client.mjs"
    if not (ROOT / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail("run `make node_modules/.installed-stamp` (npm ci) first", pytrace=False)
    headers = new_session(http)
    created = http.post("/v1/agents", json={"name": "Via TS", "model": "offline"}, headers=headers)
    token = headers["Authorization"].split(" ", 1)[1]

    finished = subprocess.run(
        ["node", str(script), f"{local_stack.url}/mcp", token, "list_my_agents"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )

    assert finished.returncode == 0, finished.stderr
    answer = json.loads(finished.stdout.strip().splitlines()[-1])
    assert answer["server"]["name"] == "agent-platform"
    assert sorted(answer["tools"]) == ["list_my_agents", "route_to_persona"]
    assert answer["result"]["isError"] is False
    listed = answer["result"]["structuredContent"]["agents"]
    assert [agent["id"] for agent in listed] == [created.json()["id"]]
