"""The MCP function through functions-framework: JSON-RPC over Streamable HTTP, per caller."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.emulators import Emulators
from shared.agents import store as agents
from tests.conftest import E2E_ADMIN_TOKEN, load_function
from tests.support.faults import frozen
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
    assert len(operator) == 15
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


def test_an_operator_tool_is_unknown_to_a_guest(client: Any, firestore_db: Any) -> None:
    call = {"name": "create_silence", "arguments": {"source": "chat"}}

    answer = rpc(client, new_guest().headers, "tools/call", call).get_json()

    assert "result" not in answer
    assert answer["error"]["code"] == -32602 and "no tool named" in answer["error"]["message"]
    assert list(firestore_db.collection("silences").stream()) == []


def test_an_unknown_tool_is_a_json_rpc_invalid_params_error(client: Any) -> None:
    unknown = {"name": "no_such_tool", "arguments": {}}
    misused = {"name": "create_silence", "arguments": {"source": "nowhere"}}

    answer = rpc(client, OPERATOR, "tools/call", unknown)
    corrigible = rpc(client, OPERATOR, "tools/call", misused).get_json()["result"]

    assert answer.status_code == 200
    assert answer.get_json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32602, "message": "no tool named 'no_such_tool'"},
    }
    # Bad arguments to a known tool stay a result the client (or its model) can correct.
    assert corrigible["isError"] is True and "invalid arguments" in corrigible["content"][0]["text"]


@pytest.mark.parametrize(
    ("body", "answered_id"),
    [
        ([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}], None),
        ({"hello": "world"}, None),
        ({"jsonrpc": "1.0", "id": 1, "method": "tools/list"}, None),
        ({"jsonrpc": "2.0", "id": None, "method": "tools/list"}, None),
        ({"jsonrpc": "2.0", "id": True, "method": "tools/list"}, None),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, 1),
        ({"jsonrpc": "2.0", "id": 1}, None),
        ("tools/list", None),
    ],
    ids=["batch", "not-json-rpc", "version", "null-id", "bool-id", "method", "no-method", "str"],
)
def test_what_is_not_one_json_rpc_message_is_an_invalid_request(
    client: Any, body: Any, answered_id: int | None
) -> None:
    answer = client.post("/mcp", json=body, headers={**MCP_HEADERS, **OPERATOR})

    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == -32600 and error["message"].startswith("Invalid Request")
    assert "validation" not in answer.get_data(as_text=True).lower()
    assert answer.get_json()["id"] == answered_id


def test_a_body_that_is_not_json_is_a_parse_error_without_the_parser_s_text(client: Any) -> None:
    answer = client.post(
        "/mcp",
        data=b'{"jsonrpc": "2.0", "id": 1,',
        content_type="application/json",
        headers={**MCP_HEADERS, **OPERATOR},
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"] == {
        "code": -32700,
        "message": "Parse error: the body is not JSON",
    }


def test_a_request_from_another_origin_is_refused(client: Any) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}

    def post(origin: str | None) -> Any:
        headers = {**MCP_HEADERS, **OPERATOR, **({"Origin": origin} if origin else {})}
        return client.post("/mcp", json=message, headers=headers)

    elsewhere, opaque = post("https://evil.test"), post("null")
    local, without = post("http://127.0.0.1:8080"), post(None)

    assert (elsewhere.status_code, opaque.status_code) == (403, 403)
    assert elsewhere.get_json()["error"]["code"] == "origin_not_allowed"
    assert (local.status_code, without.status_code) == (200, 200)


def test_allowed_origins_are_a_setting(client: Any, settings: Any) -> None:
    settings(MCP_ALLOWED_ORIGINS="https://tools.example.test, http://localhost:9000/")
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}

    def status(origin: str) -> int:
        headers = {**MCP_HEADERS, **OPERATOR, "Origin": origin}
        return int(client.post("/mcp", json=message, headers=headers).status_code)

    assert status("https://tools.example.test") == 200
    assert status("http://localhost:9000") == 200
    assert status("http://127.0.0.1:8080") == 403


def test_a_firestore_outage_is_a_503_with_retry_after_not_a_json_rpc_error(
    client: Any, emulators: Emulators, settings: Any
) -> None:
    settings(FIRESTORE_CALL_TIMEOUT_SECONDS="1")
    call = {"name": "active_alerts", "arguments": {}}

    with frozen(emulators.firestore_port):
        answer = rpc(client, OPERATOR, "tools/call", call)

    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.get_json()["error"]["code"] == "unavailable"
    text = answer.get_data(as_text=True)
    assert "jsonrpc" not in text and "Deadline" not in text and "Timeout" not in text


def test_a_tool_s_crash_reaches_the_client_as_a_500_without_its_text(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.alerts import records

    def crash(query: Any) -> Any:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(records, "list_alerts", crash)

    answer = rpc(client, OPERATOR, "tools/call", {"name": "active_alerts", "arguments": {}})

    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "internal"
    assert "hunter2" not in answer.get_data(as_text=True)


def test_without_a_token_the_endpoint_is_401(client: Any) -> None:
    answer = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    assert answer.status_code == 401


def test_the_function_tools_are_the_operator_s_with_their_hints(client: Any) -> None:
    guest = rpc(client, new_guest().headers, "tools/list", {}).get_json()["result"]["tools"]
    operator = rpc(client, OPERATOR, "tools/list", {}).get_json()["result"]["tools"]
    hints = {t["name"]: t["annotations"]["destructiveHint"] for t in operator}

    assert not {t["name"] for t in guest} & {"platform_status", "restart_function"}
    assert {name: hints[name] for name in hints if name.endswith(("_function", "_status"))} == {
        "platform_status": False,
        "restart_function": True,
        "scale_function": True,
        "rollback_function": True,
    }
    scale = next(t for t in operator if t["name"] == "scale_function")
    assert "chat" in scale["inputSchema"]["properties"]["function"]["enum"]


def test_an_operator_reads_a_function_s_status_over_mcp(client: Any, settings: Any) -> None:
    from tests.support.google_apis import google_apis

    with google_apis("demo-agent-platform-test", "europe-west1") as (run, logging_api, metrics):
        run.add_service("chat", revisions=2, min_instances=1, max_instances=40)
        settings(
            PLATFORM_ADAPTER="google",
            PLATFORM_REGION="europe-west1",
            PLATFORM_RUN_ENDPOINT=run.url,
            PLATFORM_LOGGING_ENDPOINT=logging_api.url,
            PLATFORM_MONITORING_ENDPOINT=metrics.endpoint,
        )
        call = {"name": "platform_status", "arguments": {"function": "chat", "minutes": 5}}

        result = rpc(client, OPERATOR, "tools/call", call).get_json()["result"]

    assert result["isError"] is False
    [chat] = result["structuredContent"]["functions"]
    assert (chat["function"], chat["servingRevision"]) == ("chat", "chat-00002-ccc")
