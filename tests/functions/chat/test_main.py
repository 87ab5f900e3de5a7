"""The chat function through functions-framework: conversations, messages, SSE, failures."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from shared.agents import store as agents
from shared.gcp import clients
from shared.limits import spend
from shared.llm.settings import DEFAULT_MODEL
from shared.messaging.topics import chat_events
from shared.messaging.topics.chat_events import ChatRunData
from tests.conftest import ROOT, load_function
from tests.functions.chat.conftest import (
    Configure,
    Owner,
    new_owner,
    parse_sse,
    send,
    start_conversation,
    stored_messages,
)
from tests.support.messages_api import FakeMessagesApi
from tests.support.pubsub import pull_events, subscribe


@pytest.fixture
def subscription(firestore_db: Any) -> str:
    return subscribe(chat_events.TOPIC)


# -- conversations ----------------------------------------------------------------------


def test_create_conversation_answers_201_with_a_default_title(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    body = start_conversation(client, owner)

    assert body["id"].startswith("cnv_")
    assert body["agentId"] == owner.agent.id
    assert body["title"] == "Chat with Helper"
    assert body["messageCount"] == 0
    assert firestore_db.collection("conversations").document(body["id"]).get().exists


def test_create_conversation_for_an_unknown_agent_is_404(client: Any, owner: Owner) -> None:
    response = client.post(
        "/v1/conversations", json={"agentId": "agt_" + "0" * 24}, headers=owner.headers
    )

    assert response.status_code == 404


def test_list_conversations_is_per_agent_and_pages(client: Any, owner: Owner) -> None:
    other_agent = agents.create_agent(owner.guest.user_id, agents.AgentCreate(name="Other"))
    ids = [start_conversation(client, owner, title=f"t{n}")["id"] for n in range(3)]
    client.post("/v1/conversations", json={"agentId": other_agent.id}, headers=owner.headers)

    first = client.get(
        f"/v1/conversations?agentId={owner.agent.id}&limit=2", headers=owner.headers
    ).get_json()
    second = client.get(
        f"/v1/conversations?agentId={owner.agent.id}&limit=2&pageToken={first['nextPageToken']}",
        headers=owner.headers,
    ).get_json()

    listed = [c["id"] for c in first["conversations"] + second["conversations"]]
    assert listed == list(reversed(ids))
    assert second["nextPageToken"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/v1/conversations?agentId={agent}",
        "/v1/conversations/{conversation}",
        "/v1/conversations/{conversation}/messages",
    ],
)
def test_a_token_naming_another_guest_reads_alongside_but_answers_401(
    client: Any, owner: Owner, path: str, settings: Any
) -> None:
    settings(SESSION_CACHE_SECONDS="0")  # every request reads its session, alongside
    conversation = start_conversation(client, owner, title="Victim's talk")
    send(client, owner, conversation["id"], "a secret question")
    intruder = new_owner()
    forged = intruder.guest.token.split(".")[0] + "." + owner.guest.user_id
    target = path.format(agent=owner.agent.id, conversation=conversation["id"])

    answer = client.get(target, headers={"Authorization": f"Bearer {forged}"})
    own = client.get(target, headers=owner.headers)

    assert answer.status_code == 401
    assert "Victim" not in answer.get_data(as_text=True)
    assert "secret" not in answer.get_data(as_text=True)
    assert own.status_code == 200


def test_delete_conversation_removes_it_and_its_messages(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)
    send(client, owner, conversation["id"], "hello")

    deleted = client.delete(f"/v1/conversations/{conversation['id']}", headers=owner.headers)

    assert deleted.status_code == 204
    assert (
        client.get(f"/v1/conversations/{conversation['id']}", headers=owner.headers).status_code
        == 404
    )
    assert stored_messages(firestore_db, conversation["id"]) == []


# -- sending: JSON and SSE --------------------------------------------------------------


def test_json_message_is_answered_by_the_offline_model_and_published(
    client: Any, owner: Owner, firestore_db: Any, subscription: str
) -> None:
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "Tell me about rivers")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["userMessage"]["content"] == "Tell me about rivers"
    answer = body["assistantMessage"]
    assert (answer["status"], answer["model"], answer["stopReason"]) == (
        "completed",
        "offline",
        "end_turn",
    )
    assert "rivers" in answer["content"]
    assert answer["outputTokens"] > 0
    stored = stored_messages(firestore_db, conversation["id"])
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "completed"),
        ("assistant", "completed"),
    ]
    [event] = pull_events(subscription)
    assert event.type == chat_events.RUN_COMPLETED
    run = event.data_as(ChatRunData)
    assert (run.agent_id, run.message_id, run.outcome) == (
        owner.agent.id,
        answer["id"],
        "completed",
    )
    assert list(firestore_db.collection("outbox").stream()) == []


def test_offline_answers_are_deterministic(client: Any, owner: Owner) -> None:
    first = start_conversation(client, owner)
    second = start_conversation(client, owner)

    one = send(client, owner, first["id"], "same words").get_json()["assistantMessage"]
    two = send(client, owner, second["id"], "same words").get_json()["assistantMessage"]

    assert one["content"] == two["content"]


def test_sse_events_come_in_contract_order(client: Any, owner: Owner) -> None:
    conversation = start_conversation(client, owner)

    response = send(client, owner, conversation["id"], "Stream this please", sse=True)

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = parse_sse(response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[0] == "message.created" and names[-2:] == ["message.completed", "done"]
    assert set(names[1:-2]) == {"message.delta"} and len(names) > 4
    created, completed = events[0][1], events[-2][1]
    assert created["userMessage"]["content"] == "Stream this please"
    assert created["assistantMessage"]["status"] == "pending"
    text = "".join(data["text"] for name, data in events if name == "message.delta")
    assert completed["message"]["content"] == text
    assert completed["usage"]["outputTokens"] == completed["message"]["outputTokens"] > 0


def test_sse_through_the_sdk_streams_the_api_chunks_and_sends_history(
    client: Any, owner: Owner, fake_api: FakeMessagesApi
) -> None:
    conversation = start_conversation(client, owner)
    send(client, owner, conversation["id"], "first question")

    response = send(client, owner, conversation["id"], "second question", sse=True)

    events = parse_sse(response.get_data(as_text=True))
    deltas = [data["text"] for name, data in events if name == "message.delta"]
    assert len(deltas) == fake_api.chunks and "".join(deltas) == fake_api.reply
    completed = events[-2][1]
    assert completed["usage"] == {
        "inputTokens": fake_api.input_tokens,
        "outputTokens": len(fake_api.reply) // 4,
    }
    assert completed["message"]["model"] == DEFAULT_MODEL
    sent = fake_api.requests[-1].body
    assert sent["system"][0]["text"] == owner.agent.system_prompt
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": fake_api.reply},
        {"role": "user", "content": "second question"},
    ]


def test_history_is_trimmed_to_the_token_budget(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, configure: Configure
) -> None:
    configure(CHAT_HISTORY_TOKEN_BUDGET="100")
    conversation = start_conversation(client, owner)
    send(client, owner, conversation["id"], "old " * 200)

    send(client, owner, conversation["id"], "new question")

    sent = fake_api.requests[-1].body["messages"]
    assert sent[-1] == {"role": "user", "content": "new question"}
    assert all("old old" not in turn["content"] for turn in sent)


# -- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [(429, 503, "model_rate_limited"), (529, 503, "model_overloaded"), (500, 502, "model_error")],
    ids=["429", "529", "500"],
)
def test_api_failure_keeps_the_question_and_records_a_failed_answer(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    subscription: str,
    case: tuple[int, int, str],
) -> None:
    status, answer_status, code = case
    conversation = start_conversation(client, owner)
    fake_api.fail = status

    response = send(client, owner, conversation["id"], "will this work?")

    assert response.status_code == answer_status
    assert response.headers["Retry-After"] == "7"
    assert response.get_json()["error"]["code"] == code
    ids = response.get_json()["error"]["details"][0]
    stored = stored_messages(clients.firestore(), conversation["id"])
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "completed"),
        ("assistant", "failed"),
    ]
    assert stored[0]["content"] == "will this work?"
    assert stored[1]["errorCode"] == code
    messages = (
        clients.firestore().document(f"conversations/{conversation['id']}").collection("messages")
    )
    assert messages.document(ids["assistantMessageId"]).get().to_dict()["status"] == "failed"
    assert messages.document(ids["userMessageId"]).get().to_dict()["content"] == "will this work?"
    [event] = pull_events(subscription)
    assert event.type == chat_events.RUN_FAILED
    assert event.data_as(ChatRunData).error_code == code


def test_a_cut_stream_ends_the_sse_with_an_error_event(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, firestore_db: Any, subscription: str
) -> None:
    conversation = start_conversation(client, owner)
    fake_api.fail = "cut"

    response = send(client, owner, conversation["id"], "tell me a story", sse=True)

    events = parse_sse(response.get_data(as_text=True))
    names = [name for name, _ in events]
    assert names[0] == "message.created" and names[-2:] == ["error", "done"]
    assert "message.completed" not in names
    assert events[-2][1]["code"] == "model_stream_cut"
    answer = stored_messages(firestore_db, conversation["id"])[1]
    assert answer["status"] == "failed"
    assert answer["content"] and fake_api.reply.startswith(answer["content"])
    assert [e.type for e in pull_events(subscription)] == [chat_events.RUN_FAILED]


# A client that goes mid-answer hands it off: test_continuations.py.


def test_a_cancel_stops_the_answer_and_it_ends_cancelled(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, firestore_db: Any, subscription: str
) -> None:
    fake_api.chunks, fake_api.chunk_delay = 40, 0.1  # about 4 s of answer
    conversation = start_conversation(client, owner)
    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "a long answer please"},
        headers={**owner.headers, "Accept": "text/event-stream"},
        buffered=False,
    )
    body = iter(response.response)
    created = next(body)
    answer_id = json.loads(created.split(b"data: ", 1)[1])["assistantMessage"]["id"]
    next(body)  # a first delta: the model is answering
    url = f"/v1/conversations/{conversation['id']}/messages/{answer_id}/cancel"

    cancelled = client.post(url, headers=owner.headers)
    again = client.post(url, headers=owner.headers)
    rest = b"".join(body)

    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert again.get_json() == cancelled.get_json()  # idempotent: the stored answer
    assert b'"code":"cancelled"' in rest and rest.endswith(b"event: done\ndata: {}\n\n")
    stored = stored_messages(firestore_db, conversation["id"])[1]
    assert stored["status"] == "cancelled" and stored["content"] != fake_api.reply
    [event] = pull_events(subscription)
    assert event.data_as(ChatRunData).outcome == "cancelled"


def test_a_cancel_from_another_instance_stops_the_answer(
    client: Any, owner: Owner, fake_api: FakeMessagesApi, firestore_db: Any, configure: Configure
) -> None:
    configure(CHAT_STREAM_PERSIST_SECONDS="0.2")
    fake_api.chunks, fake_api.chunk_delay = 60, 0.1  # about 6 s of answer
    conversation = start_conversation(client, owner)
    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "a long answer please"},
        headers={**owner.headers, "Accept": "text/event-stream"},
        buffered=False,
    )
    body = iter(response.response)
    answer_id = json.loads(next(body).split(b"data: ", 1)[1])["assistantMessage"]["id"]
    next(body)
    other = load_function("functions/chat", "chat").app.test_client()

    cancelled = other.post(
        f"/v1/conversations/{conversation['id']}/messages/{answer_id}/cancel",
        headers=owner.headers,
    )
    b"".join(body)

    assert cancelled.get_json()["status"] == "cancelled"
    stored = stored_messages(firestore_db, conversation["id"])[1]
    assert stored["status"] == "cancelled" and len(stored["content"]) < len(fake_api.reply)


def test_cancelling_someone_elses_answer_is_404(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    from tests.functions.chat.conftest import new_owner

    conversation = start_conversation(client, owner)
    answer = send(client, owner, conversation["id"], "hi").get_json()["assistantMessage"]
    url = f"/v1/conversations/{conversation['id']}/messages/{answer['id']}/cancel"

    stranger = client.post(url, headers=new_owner().headers)
    final = client.post(url, headers=owner.headers)

    assert stranger.status_code == 404
    assert final.status_code == 200 and final.get_json()["status"] == "completed"


# -- cost control -----------------------------------------------------------------------


def test_messages_per_minute_are_limited_with_retry_after(
    client: Any, owner: Owner, configure: Configure, firestore_db: Any
) -> None:
    configure(CHAT_MESSAGES_PER_MINUTE="2")
    conversation = start_conversation(client, owner)

    answers = [send(client, owner, conversation["id"], f"m{n}") for n in range(3)]
    statuses = [answer.status_code for answer in answers]
    refused = send(client, owner, conversation["id"], "again")

    assert statuses == [200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"messages-per-minute";q=2;w=60'
    assert answers[0].headers["RateLimit"].startswith('"messages-per-minute";r=1;t=')
    assert answers[1].headers["RateLimit"].startswith('"messages-per-minute";r=0;t=')
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Policy"] == '"messages-per-minute";q=2;w=60'
    retry_after = refused.headers["Retry-After"]
    assert refused.headers["RateLimit"] == f'"messages-per-minute";r=0;t={retry_after}'
    assert len(stored_messages(firestore_db, conversation["id"])) == 4


def test_tokens_per_day_are_reserved_before_the_model_and_settled_after(
    client: Any, owner: Owner, configure: Configure, firestore_db: Any
) -> None:
    # A reservation is the longest answer + the history budget + the text's bytes / 3
    # (system prompt and message): the budget admits exactly the first message.
    text = owner.agent.system_prompt + "spend my budget"
    budget = 50 + 100 + -(-len(text.encode()) // 3)
    configure(
        CHAT_TOKENS_PER_DAY=str(budget),
        CHAT_MAX_OUTPUT_TOKENS="50",
        CHAT_HISTORY_TOKEN_BUDGET="100",
    )
    conversation = start_conversation(client, owner)

    first = send(client, owner, conversation["id"], "spend my budget")
    second = send(client, owner, conversation["id"], "and more")

    assert first.status_code == 200
    assert second.status_code == 429
    assert 1 <= int(second.headers["Retry-After"]) <= 24 * 3600
    assert "daily token budget of this guest" in second.get_json()["error"]["message"]
    assert len(stored_messages(firestore_db, conversation["id"])) == 2
    usage = first.get_json()["assistantMessage"]
    spent = spend.tokens_spent_today(owner.guest.user_id)
    assert spent == usage["inputTokens"] + usage["outputTokens"]


def test_a_full_conversation_refuses_more_with_409(
    client: Any, owner: Owner, configure: Configure, firestore_db: Any
) -> None:
    configure(CHAT_MAX_MESSAGES_PER_CONVERSATION="4")
    conversation = start_conversation(client, owner)
    for n in range(2):
        assert send(client, owner, conversation["id"], f"m{n}").status_code == 200

    refused = send(client, owner, conversation["id"], "one more")

    assert refused.status_code == 409
    assert len(stored_messages(firestore_db, conversation["id"])) == 4


# -- agents: paused, deleted, personas --------------------------------------------------


def test_a_paused_agent_refuses_messages_with_409(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)
    agents.update_agent(owner.guest.user_id, owner.agent.id, agents.AgentUpdate(status="paused"))

    response = send(client, owner, conversation["id"], "hello?")

    assert response.status_code == 409
    assert stored_messages(firestore_db, conversation["id"]) == []


def test_conversations_of_a_deleted_agent_are_404(client: Any, owner: Owner) -> None:
    conversation = start_conversation(client, owner)
    send(client, owner, conversation["id"], "hello")
    agents.delete_agent(owner.guest.user_id, owner.agent.id)
    path = f"/v1/conversations/{conversation['id']}"

    assert client.get(path, headers=owner.headers).status_code == 404
    assert client.get(path + "/messages", headers=owner.headers).status_code == 404
    assert send(client, owner, conversation["id"], "still there?").status_code == 404
    listed = client.get(f"/v1/conversations?agentId={owner.agent.id}", headers=owner.headers)
    assert listed.status_code == 404


def test_auto_persona_is_routed_and_recorded_on_the_answer(
    client: Any, firestore_db: Any, fake_api: FakeMessagesApi
) -> None:
    from shared.personas import routing as persona_routing

    owner = new_owner(persona="auto")
    conversation = start_conversation(client, owner)
    text = "I feel anxious about tomorrow, can you comfort me?"

    answer = send(client, owner, conversation["id"], text).get_json()["assistantMessage"]

    routed = persona_routing.route_message(text)
    assert answer["persona"] == routed.persona
    assert answer["confidence"] == pytest.approx(routed.confidence)
    style = persona_routing.persona_style(routed.persona)
    assert style and style in fake_api.requests[-1].body["system"][0]["text"]


def test_a_named_persona_adds_its_style_to_the_system_prompt(
    client: Any, firestore_db: Any, fake_api: FakeMessagesApi
) -> None:
    from shared.personas import routing as persona_routing

    owner = new_owner(persona="Lua")
    conversation = start_conversation(client, owner)

    answer = send(client, owner, conversation["id"], "hi").get_json()["assistantMessage"]

    system = fake_api.requests[-1].body["system"][0]["text"]
    assert system.startswith(owner.agent.system_prompt)
    assert str(persona_routing.persona_style("Lua")) in system
    assert (answer["persona"], answer["confidence"]) == ("Lua", None)


# -- reading messages -------------------------------------------------------------------


def test_messages_page_backwards_oldest_first(client: Any, owner: Owner) -> None:
    conversation = start_conversation(client, owner)
    for n in range(3):
        send(client, owner, conversation["id"], f"q{n}")
    path = f"/v1/conversations/{conversation['id']}/messages"

    newest = client.get(path + "?limit=4", headers=owner.headers).get_json()
    older = client.get(
        path + f"?limit=4&before={newest['nextBefore']}", headers=owner.headers
    ).get_json()

    assert [m["content"] for m in newest["messages"] if m["role"] == "user"] == ["q1", "q2"]
    assert [m["content"] for m in older["messages"] if m["role"] == "user"] == ["q0"]
    assert older["nextBefore"] is None
    assert len(newest["messages"]) == 4 and len(older["messages"]) == 2


# -- isolation --------------------------------------------------------------------------


def test_another_guest_gets_404_everywhere_and_changes_nothing(
    client: Any, owner: Owner, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)
    send(client, owner, conversation["id"], "private")
    before = stored_messages(firestore_db, conversation["id"])
    stranger = new_owner()
    path = f"/v1/conversations/{conversation['id']}"

    answers = [
        client.get(path, headers=stranger.headers),
        client.get(path + "/messages", headers=stranger.headers),
        send(client, stranger, conversation["id"], "intrude"),
        send(client, stranger, conversation["id"], "intrude", sse=True),
        client.delete(path, headers=stranger.headers),
        client.get(f"/v1/conversations?agentId={owner.agent.id}", headers=stranger.headers),
        client.post(
            "/v1/conversations", json={"agentId": owner.agent.id}, headers=stranger.headers
        ),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all("private" not in a.get_data(as_text=True) for a in answers)
    assert stored_messages(firestore_db, conversation["id"]) == before
    assert client.get(path, headers=owner.headers).get_json()["messageCount"] == 2


def test_routes_need_a_session(client: Any) -> None:
    assert client.get("/v1/conversations?agentId=agt_x").status_code == 401
    assert client.post("/v1/conversations/cnv_x/messages", json={"content": "x"}).status_code == 401


def test_empty_content_is_a_400(client: Any, owner: Owner) -> None:
    conversation = start_conversation(client, owner)

    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "  "},
        headers=owner.headers,
    )

    assert response.status_code == 400


# -- cold start and contract ------------------------------------------------------------


def test_loading_the_function_does_not_import_anthropic() -> None:
    code = (
        "import sys; from functions_framework import create_app; "
        "create_app('chat', 'functions/chat/main.py'); print('anthropic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip().splitlines()[-1] == "False"


def test_openapi_lists_the_chat_routes(client: Any) -> None:
    document = client.get("/openapi.json").get_json()

    assert set(document["paths"]) == {
        "/v1/conversations",
        "/v1/conversations/{conversationId}",
        "/v1/conversations/{conversationId}/messages",
        "/v1/conversations/{conversationId}/messages/{messageId}/events",
        "/v1/conversations/{conversationId}/messages/{messageId}/cancel",
    }
    post = document["paths"]["/v1/conversations/{conversationId}/messages"]["post"]
    assert "text/event-stream" in post["responses"]["200"]["content"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"] if p["in"] == "header"]


def test_conversations_per_guest_are_capped(
    client: Any, owner: Owner, configure: Configure, firestore_db: Any
) -> None:
    configure(CONVERSATIONS_PER_GUEST="1")
    first = start_conversation(client, owner)

    refused = client.post(
        "/v1/conversations", json={"agentId": owner.agent.id}, headers=owner.headers
    )
    client.delete(f"/v1/conversations/{first['id']}", headers=owner.headers)
    client.delete(f"/v1/conversations/{first['id']}", headers=owner.headers)  # counted once
    start_conversation(client, owner)

    assert refused.status_code == 429
    assert "conversations per guest" in refused.get_json()["error"]["message"]
    assert len(list(firestore_db.collection("conversations").stream())) == 1


def test_messages_per_client_address_are_limited_across_guests(
    client: Any, configure: Configure, firestore_db: Any
) -> None:
    configure(CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE="2")
    owners = [new_owner(model="offline") for _ in range(3)]
    conversations = [start_conversation(client, owner) for owner in owners]

    statuses = [
        send(client, owner, conversation["id"], "hi").status_code
        for owner, conversation in zip(owners, conversations, strict=True)
    ]

    assert statuses == [200, 200, 429]
    assert spend.tokens_spent_today(owners[2].guest.user_id) == 0
