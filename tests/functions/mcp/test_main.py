"""The MCP function through functions-framework: JSON-RPC over Streamable HTTP, per caller."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.agents import store as agents
from tests.conftest import E2E_ADMIN_TOKEN, load_function
from tests.support.guests import new_guest

OPERATOR = {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
}


@pytest.fixture
def client(firestore_db: Any) -> Any:
    return load_function("functions/mcp", "mcp_server").app.test_client()


def rpc(client: Any, headers: dict[str, str], method: str, params: dict[str, Any]) -> Any:
    message = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    return client.post("/mcp", json=message, headers={**MCP_HEADERS, **headers})


def test_initialize_answers_the_server_and_its_tools_capability(client: Any) -> None:
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    }

    answer = rpc(client, new_guest().headers, "initialize", params)

    assert answer.status_code == 200, answer.get_data(as_text=True)
    result = answer.get_json()["result"]
    assert result["serverInfo"]["name"] == "agent-platform" and "tools" in result["capabilities"]


def test_a_guest_lists_guest_tools_and_an_operator_lists_all(client: Any) -> None:
    guest = rpc(client, new_guest().headers, "tools/list", {}).get_json()["result"]["tools"]
    operator = rpc(client, OPERATOR, "tools/list", {}).get_json()["result"]["tools"]

    assert {t["name"] for t in guest} == {"list_my_agents", "route_to_persona"}
    assert len(operator) == 9
    silence = next(t for t in operator if t["name"] == "create_silence")
    assert silence["annotations"]["readOnlyHint"] is False
    assert silence["inputSchema"]["required"] == ["source"]


def test_a_guest_s_call_sees_only_that_guest_s_agents(client: Any) -> None:
    guest, other = new_guest(), new_guest()
    mine = agents.create_agent(guest.user_id, agents.AgentCreate(name="Mine"))
    agents.create_agent(other.user_id, agents.AgentCreate(name="Theirs"))

    answer = rpc(client, guest.headers, "tools/call", {"name": "list_my_agents", "arguments": {}})

    result = answer.get_json()["result"]
    assert result["isError"] is False
    assert [a["id"] for a in result["structuredContent"]["agents"]] == [mine.id]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


def test_an_operator_tool_is_an_error_result_for_a_guest(client: Any, firestore_db: Any) -> None:
    call = {"name": "create_silence", "arguments": {"source": "chat"}}

    result = rpc(client, new_guest().headers, "tools/call", call).get_json()["result"]

    assert result["isError"] is True and "no tool named" in result["content"][0]["text"]
    assert list(firestore_db.collection("silences").stream()) == []


def test_without_a_token_the_endpoint_is_401(client: Any) -> None:
    answer = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    assert answer.status_code == 401
