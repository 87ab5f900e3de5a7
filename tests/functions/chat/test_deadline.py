"""The chat message route's own budget (CHAT_ANSWER_DEADLINE_SECONDS): a frozen Firestore
or a model that never answers still gets a 503 with Retry-After in time, the answer does
not stay pending, and a stream that already started ends with an SSE `error` event."""

from __future__ import annotations

import time
from typing import Any

from infra.local.emulators import Emulators
from tests.functions.chat.conftest import (
    Configure,
    Owner,
    parse_sse,
    send,
    start_conversation,
    stored_messages,
)
from tests.support.faults import frozen
from tests.support.messages_api import FakeMessagesApi

BUDGET = 2.0


def assert_timely_503(answer: Any, elapsed: float) -> None:
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.get_json()["error"]["code"] == "unavailable"
    assert elapsed < BUDGET + 1.5


def answer_when_settled(firestore_db: Any, conversation_id: str) -> dict[str, Any]:
    """The assistant message once it is no longer pending (waits up to 15 s)."""
    give_up = time.monotonic() + 15
    while True:
        answers = [m for m in stored_messages(firestore_db, conversation_id) if m["role"] != "user"]
        assert len(answers) == 1, answers
        if answers[0]["status"] != "pending" or time.monotonic() > give_up:
            return answers[0]
        time.sleep(0.2)


def test_with_firestore_frozen_the_json_answer_is_503_within_its_budget(
    client: Any, owner: Owner, configure: Configure, emulators: Emulators
) -> None:
    configure(CHAT_ANSWER_DEADLINE_SECONDS=str(BUDGET))
    conversation = start_conversation(client, owner)

    with frozen(emulators.firestore_port):
        started = time.monotonic()
        answer = send(client, owner, conversation["id"], "anyone there?")
        elapsed = time.monotonic() - started

    assert_timely_503(answer, elapsed)


def test_a_model_that_never_answers_is_503_within_the_budget_and_the_answer_is_failed(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    configure: Configure,
    firestore_db: Any,
) -> None:
    # The model's own timeout (4 s) is longer than the route's budget here, so the
    # deadline is what answers; the answer is then settled as failed, not left pending.
    configure(
        CHAT_ANSWER_DEADLINE_SECONDS=str(BUDGET),
        ANTHROPIC_TIMEOUT_SECONDS="4",
        ANTHROPIC_MAX_RETRIES="0",
    )
    fake_api.fail, fake_api.first_chunk_delay = "hang", 6.0
    conversation = start_conversation(client, owner)

    started = time.monotonic()
    answer = send(client, owner, conversation["id"], "hello?")
    elapsed = time.monotonic() - started
    settled = answer_when_settled(firestore_db, conversation["id"])

    assert_timely_503(answer, elapsed)
    assert settled["status"] == "failed"
    assert settled["errorCode"] == "deadline_exceeded"


def test_a_stream_that_meets_a_frozen_firestore_ends_with_an_error_event(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    configure: Configure,
    emulators: Emulators,
) -> None:
    configure(FIRESTORE_CALL_TIMEOUT_SECONDS="1", CHAT_STREAM_PERSIST_SECONDS="0")
    fake_api.chunks, fake_api.chunk_delay = 6, 0.2
    conversation = start_conversation(client, owner)
    headers = {**owner.headers, "Accept": "text/event-stream"}

    response = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"content": "a long answer, please"},
        headers=headers,
        buffered=False,
    )
    assert response.status_code == 200
    body = iter(response.response)
    received = b""
    while b"message.delta" not in received:
        received += next(body)
    with frozen(emulators.firestore_port):
        started = time.monotonic()
        for chunk in body:
            received += chunk
        elapsed = time.monotonic() - started

    events = [name for name, _ in parse_sse(received.decode())]
    assert events[-2:] == ["error", "done"]
    assert "message.completed" not in events
    assert elapsed < 10  # bounded by FIRESTORE_CALL_TIMEOUT_SECONDS per write, not minutes
