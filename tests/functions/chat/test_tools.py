"""Agents with tools: the model's tool calls run server-side between turns, streamed as
`tool.call` and `tool.result` before the text that uses them, and stored with the answer."""

from __future__ import annotations

import json
from typing import Any

from tests.functions.chat.conftest import (
    Configure,
    new_owner,
    parse_sse,
    send,
    start_conversation,
    stored_messages,
)
from tests.support.messages_api import FakeMessagesApi


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]


def test_an_agent_with_tools_streams_the_call_its_result_then_text_through_the_sdk(
    client: Any, fake_api: FakeMessagesApi, firestore_db: Any
) -> None:
    owner = new_owner(name="Lister", tools=["list_my_agents"])
    fake_api.tool_use = {"name": "list_my_agents", "input": {"status": "active"}}
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "Which agents do I have?", sse=True)

    events = parse_sse(response.get_data(as_text=True))
    order = [n for n in names(events) if n != "message.delta"]
    assert order[:3] == ["message.created", "tool.call", "tool.result"]
    assert order[-2:] == ["message.completed", "done"]
    call = dict(events)["tool.call"]
    result = dict(events)["tool.result"]
    assert (call["name"], call["input"]) == ("list_my_agents", {"status": "active"})
    assert result["id"] == call["id"] and not result["isError"]
    assert json.loads(result["result"])["agents"][0]["name"] == "Lister"
    after_result = names(events)[names(events).index("tool.result") :]
    text = "".join(
        d["text"] for n, d in events[names(events).index("tool.result") :] if n == "message.delta"
    )
    assert "message.delta" in after_result and "Lister" in text
    # The SDK sent the tool's result back as the API expects: a user turn of tool_result.
    second = fake_api.requests[-1].body
    assert second["tools"][0]["name"] == "list_my_agents"
    [block] = second["messages"][-1]["content"]
    assert (block["type"], block["tool_use_id"]) == ("tool_result", call["id"])
    assert second["messages"][-2]["content"][-1] == {
        "type": "tool_use",
        "id": call["id"],
        "name": "list_my_agents",
        "input": {"status": "active"},
    }
    [_, answer] = stored_messages(firestore_db, conversation["id"])
    assert answer["status"] == "completed" and answer["content"].startswith("Let me check.")
    assert [c["name"] for c in answer["toolCalls"]] == ["list_my_agents"]


def test_the_offline_model_calls_a_tool_when_the_message_asks_for_what_it_gives(
    client: Any, configure: Configure, firestore_db: Any
) -> None:
    owner = new_owner(name="Lister", tools=["list_my_agents", "route_to_persona"])
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "Show me the list of my agents", sse=True)

    body = response.get_data(as_text=True)
    events = parse_sse(body)
    assert [n for n in names(events) if n.startswith("tool.")] == ["tool.call", "tool.result"]
    # Ids count characters of text; tool events take none, so a resume loses nothing.
    tool_frames = [f for f in body.split("\n\n") if "event: tool." in f]
    assert tool_frames and all("id:" not in frame for frame in tool_frames)
    assert dict(events)["tool.call"]["name"] == "list_my_agents"
    completed = dict(events)["message.completed"]["message"]
    assert "list_my_agents answered" in completed["content"] and "Lister" in completed["content"]
    assert completed["toolCalls"][0]["name"] == "list_my_agents"


def test_the_offline_model_answers_without_tools_when_none_is_asked_for(
    client: Any, configure: Configure
) -> None:
    owner = new_owner(tools=["list_my_agents"])
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "Plan the release for Friday", sse=True)

    assert not [n for n in names(parse_sse(response.get_data(as_text=True))) if "tool" in n]


def test_a_guests_tool_never_returns_another_guests_agents(
    client: Any, configure: Configure
) -> None:
    other = new_owner(name="Someone else's secret agent")
    owner = new_owner(name="Mine", tools=["list_my_agents"])
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "list my agents")

    answer = response.get_json()["assistantMessage"]
    [call] = answer["toolCalls"]
    listed = [agent["id"] for agent in json.loads(call["result"])["agents"]]
    assert listed == [owner.agent.id]
    assert other.agent.id not in answer["content"] and "secret" not in answer["content"]


def test_the_tool_call_cap_makes_the_model_answer_in_text(
    client: Any, fake_api: FakeMessagesApi, configure: Configure
) -> None:
    configure(CHAT_TOOL_MAX_CALLS="1")
    fake_api.tool_use = {"name": "list_my_agents", "input": {}}
    owner = new_owner(tools=["list_my_agents"])
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "list my agents twice")

    assert response.status_code == 200
    assert len(response.get_json()["assistantMessage"]["toolCalls"]) == 1
    assert fake_api.requests[-1].body["tool_choice"] == {"type": "none"}


def test_openapi_documents_every_stream_event_with_its_schema(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    operation = document["paths"]["/v1/conversations/{conversationId}/messages"]["post"]
    stream = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    names = [event["$ref"].split("/")[-1] for event in stream["oneOf"]]
    assert names[:4] == [
        "MessageCreatedEvent",
        "MessageDeltaEvent",
        "ToolCallEvent",
        "ToolResultEvent",
    ]
    tool_result = document["components"]["schemas"]["ToolResultEvent"]
    assert {"id", "name", "isError", "result"} <= set(tool_result["properties"])
    assert "toolCalls" in document["components"]["schemas"]["MessagePublic"]["properties"]


def test_a_run_whose_model_always_calls_a_tool_never_spends_past_the_budget(
    client: Any, fake_api: FakeMessagesApi, configure: Configure, firestore_db: Any
) -> None:
    from shared.limits import spend

    configure(
        CHAT_TOKENS_PER_DAY="6000",
        CHAT_MESSAGES_PER_MINUTE="0",
        CHAT_HISTORY_TOKEN_BUDGET="500",
        CHAT_MAX_OUTPUT_TOKENS="200",
        CHAT_TOOL_MAX_CALLS="50",
        CHAT_TOOL_MAX_TOKENS="1000000",
    )
    fake_api.tool_use = {"name": "list_my_agents", "input": {}}
    fake_api.tool_use_always = fake_api.input_tokens_by_size = True
    owner = new_owner(tools=["list_my_agents"], description="A long description. " * 20)
    conversations = [start_conversation(client, owner)["id"] for _ in range(3)]

    statuses = [send(client, owner, c, "list my agents").status_code for c in conversations]

    assert 429 in statuses and set(statuses) <= {200, 429}
    answers = [m for c in conversations for m in stored_messages(firestore_db, c)[1:]]
    spent = sum(m["inputTokens"] + m["outputTokens"] for m in answers)
    assert 0 < spent <= 6000
    assert spend.tokens_spent_today(owner.guest.user_id) == spent
    assert len(fake_api.requests) > 3  # the runs did call tools, turn after turn


def test_an_agent_runs_only_the_tools_it_was_given(
    client: Any, fake_api: FakeMessagesApi, firestore_db: Any
) -> None:
    # The model asks for a guest tool that exists but that this agent was not given.
    fake_api.tool_use = {"name": "route_to_persona", "input": {"text": "hello"}}
    fake_api.tool_use_unoffered = True
    owner = new_owner(tools=["list_my_agents"])
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "route this: hello")

    assert response.status_code == 200
    assert [t["name"] for t in fake_api.requests[0].body["tools"]] == ["list_my_agents"]
    [call] = response.get_json()["assistantMessage"]["toolCalls"]
    assert call["name"] == "route_to_persona" and call["isError"]
    assert "no tool named 'route_to_persona'" in call["result"]
    assert "persona" not in call["result"].replace("route_to_persona", "")
