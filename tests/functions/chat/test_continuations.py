"""Answers that outlive their connection: the hand-off of a cut stream and its continuation.

A client that goes mid-answer leaves the chat function to stop its model call, store the
text and tokens so far on the pending answer and stage `chat.answer.handed_off`; the
event is pulled from the real Pub/Sub emulator and pushed, as Pub/Sub pushes it, to the
`on_answer_continue` entry point through functions-framework's CloudEvent test client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from infra.manifest import load as load_manifest
from shared.chat import continuations
from shared.limits import spend
from shared.messaging.events import Event
from shared.messaging.topics import chat_continuations, chat_events
from shared.messaging.topics.chat_events import ChatRunData
from tests.conftest import LoadedFunction, load_function
from tests.functions.chat.conftest import (
    Configure,
    Owner,
    parse_sse,
    send,
    start_conversation,
    stored_messages,
)
from tests.support.messages_api import FakeMessagesApi, Turn
from tests.support.pubsub import (
    binary_cloud_event,
    pull_events,
    push_message,
    structured_cloud_event,
    subscribe,
)

QUESTION = "Could you walk me through the release checklist for Friday, slowly?"
Encoder = Callable[[str, dict[str, Any]], tuple[dict[str, str], str]]


@pytest.fixture
def handoffs(firestore_db: Any) -> str:
    """A pull subscription on chat-continuations (made before the hand-off publishes)."""
    return subscribe(chat_continuations.TOPIC)


@pytest.fixture
def runs_finished(firestore_db: Any) -> str:
    return subscribe(chat_events.TOPIC)


@pytest.fixture
def continuer(function: LoadedFunction) -> LoadedFunction:
    """The continuation entry point, loaded after the HTTP one (its own module)."""
    return load_function("functions/chat", "on_answer_continue", "cloudevent")


@pytest.fixture
def paced(configure: Configure) -> None:
    """An offline answer of about a second, stored and read back every 0.1 s."""
    configure(
        OFFLINE_CHUNK_DELAY_MS="120",
        CHAT_STREAM_PERSIST_SECONDS="0.1",
        CHAT_RESUME_POLL_SECONDS="0.1",
    )


@dataclass
class Cut:
    """What a client saw of a stream it closed: the answer's id, the last event id, text."""

    answer_id: str
    last_id: int
    text: str


def cut_stream(client: Any, owner: Owner, conversation_id: str, deltas: int = 1) -> Cut:
    """Stream an answer to `QUESTION`, read `deltas` text chunks, then go (close it)."""
    response = client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": QUESTION},
        headers={**owner.headers, "Accept": "text/event-stream"},
        buffered=False,
    )
    seen = []
    for chunk in response.response:
        seen += _frames(chunk)
        if sum(name == "message.delta" for name, _, _ in seen) >= deltas:
            break
    response.close()  # the client goes; the run hands off at its next chunk
    answer_id = seen[0][2]["assistantMessage"]["id"]
    text = "".join(data["text"] for name, _, data in seen if name == "message.delta")
    return Cut(answer_id, seen[-1][1], text)


def _frames(chunk: bytes) -> list[tuple[str, int, dict[str, Any]]]:
    frames = []
    for frame in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in fields:
            frames.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
    return frames


def deliver(continuer: LoadedFunction, event: Event, encode: Encoder = binary_cloud_event) -> Any:
    headers, body = encode(chat_continuations.TOPIC, push_message(event))
    return continuer.app.test_client().post("/", headers=headers, data=body)


def uncut_answer(client: Any, owner: Owner) -> str:
    """The offline model's whole answer to `QUESTION` in a fresh conversation."""
    conversation = start_conversation(client, owner)
    answer = send(client, owner, conversation["id"], QUESTION).get_json()["assistantMessage"]
    return str(answer["content"])


def answer_of(db: Any, conversation_id: str) -> dict[str, Any]:
    return stored_messages(db, conversation_id)[1]


def wait_for(check: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def holds_left(db: Any) -> list[str]:
    return [s.id for s in db.collection(spend.COLLECTION).stream() if s.id.startswith("hold_")]


# -- the hand-off -------------------------------------------------------------------------


def test_a_client_going_mid_answer_hands_the_answer_off_with_its_text_and_tokens(
    client: Any, owner: Owner, paced: None, handoffs: str, firestore_db: Any
) -> None:
    conversation = start_conversation(client, owner)

    cut = cut_stream(client, owner, conversation["id"])

    stored = answer_of(firestore_db, conversation["id"])
    [event] = pull_events(handoffs)
    assert stored["status"] == "pending"
    assert stored["content"].startswith(cut.text) and len(stored["content"]) > 0
    assert stored["inputTokens"] > 0 and stored["outputTokens"] > 0
    assert stored["handoff"]["eventId"] == event.id
    assert event.type == chat_continuations.HANDED_OFF
    assert event.data["messageId"] == cut.answer_id
    assert list(firestore_db.collection("outbox").stream()) == []  # published, unstaged
    # This part's spend is settled: what it used, and no hold left for the sweep.
    spent = spend.tokens_spent_today(owner.guest.user_id)
    assert spent == stored["inputTokens"] + stored["outputTokens"]
    assert holds_left(firestore_db) == []


# -- the continuation ---------------------------------------------------------------------


def test_a_cut_stream_resumed_on_another_instance_ends_completed_with_the_uncut_text(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    runs_finished: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    uncut_conversation = start_conversation(client, owner)["id"]
    uncut = send(client, owner, uncut_conversation, QUESTION).get_json()["assistantMessage"]
    uncut = uncut["content"]
    pull_events(runs_finished)
    conversation = start_conversation(client, owner)
    cut = cut_stream(client, owner, conversation["id"])
    handed = answer_of(firestore_db, conversation["id"])
    [event] = pull_events(handoffs)
    other = load_function("functions/chat", "chat").app.test_client()
    url = f"/v1/conversations/{conversation['id']}/messages/{cut.answer_id}/events"

    with ThreadPoolExecutor(1) as pool:
        resumed = pool.submit(
            lambda: other.get(url, headers={**owner.headers, "Last-Event-ID": str(cut.last_id)})
        )
        wait_for(lambda: answer_of(firestore_db, conversation["id"])["status"] == "pending")
        pushed = deliver(continuer, event)
        events = parse_sse(resumed.result(timeout=30).get_data(as_text=True))

    names = [name for name, _ in events]
    resumed_text = "".join(data["text"] for name, data in events if name == "message.delta")
    assert pushed.status_code == 200
    assert names[-2:] == ["message.completed", "done"]
    assert cut.text + resumed_text == uncut
    completed = events[-2][1]
    assert completed["message"]["content"] == uncut and completed["message"]["status"] == (
        "completed"
    )
    stored = answer_of(firestore_db, conversation["id"])
    [finished] = pull_events(runs_finished)
    run = finished.data_as(ChatRunData)
    assert (run.outcome, run.message_id) == ("completed", cut.answer_id)
    # The answer's tokens are both parts', and that is what the guest was charged.
    assert stored["inputTokens"] > 2 * handed["inputTokens"]  # the prefill is input too
    assert stored["outputTokens"] > handed["outputTokens"]
    assert (run.input_tokens, run.output_tokens) == (stored["inputTokens"], stored["outputTokens"])
    assert completed["usage"] == {
        "inputTokens": stored["inputTokens"],
        "outputTokens": stored["outputTokens"],
    }
    [uncut_stored] = [
        m for m in stored_messages(firestore_db, uncut_conversation) if m["role"] == "assistant"
    ]
    assert spend.tokens_spent_today(owner.guest.user_id) == sum(
        answer["inputTokens"] + answer["outputTokens"] for answer in (uncut_stored, stored)
    )
    assert holds_left(firestore_db) == []


def test_the_continuation_asks_the_model_to_continue_the_text_so_far_as_a_prefill(
    client: Any,
    owner: Owner,
    fake_api: FakeMessagesApi,
    handoffs: str,
    continuer: LoadedFunction,
    firestore_db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api.chunks, fake_api.chunk_delay = 12, 0.05
    continuing = _continuing_model(fake_api, monkeypatch)
    conversation = start_conversation(client, owner)
    cut = cut_stream(client, owner, conversation["id"], deltas=3)
    handed = answer_of(firestore_db, conversation["id"])["content"]
    [event] = pull_events(handoffs)

    pushed = deliver(continuer, event, structured_cloud_event)

    stored = answer_of(firestore_db, conversation["id"])
    request = fake_api.requests[-1].body
    assert pushed.status_code == 200
    assert cut.text and handed.startswith(cut.text)
    assert request["messages"][-1] == {"role": "assistant", "content": handed.rstrip()}
    assert request["messages"][-2] == {"role": "user", "content": QUESTION}
    assert request["max_tokens"] < 1024  # what is left of the longest answer
    assert continuing == [handed.rstrip()]
    assert (stored["status"], stored["content"]) == ("completed", fake_api.reply)
    # Two calls of 42 input tokens each (the fake's count), and both parts' output.
    assert stored["inputTokens"] == 2 * fake_api.input_tokens


def _continuing_model(fake_api: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the fake Messages API continue a final assistant turn as the real one does
    (what follows that text in its reply); returns the prefills it was given."""
    prefills: list[str] = []
    answer = fake_api._turn

    def turn(body: dict[str, Any]) -> Turn:
        last = (body.get("messages") or [{}])[-1]
        if last.get("role") != "assistant":
            return answer(body)
        prefills.append(str(last["content"]))
        assert fake_api.reply.startswith(last["content"])
        return Turn(fake_api.reply[len(last["content"]) :])

    monkeypatch.setattr(fake_api, "_turn", turn)
    return prefills


def test_a_cancel_during_the_continuation_ends_the_answer_cancelled(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    runs_finished: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    uncut = uncut_answer(client, owner)
    pull_events(runs_finished)
    conversation = start_conversation(client, owner)
    cut = cut_stream(client, owner, conversation["id"])
    handed = answer_of(firestore_db, conversation["id"])["content"]
    [event] = pull_events(handoffs)
    url = f"/v1/conversations/{conversation['id']}/messages/{cut.answer_id}/cancel"

    with ThreadPoolExecutor(1) as pool:
        pushed = pool.submit(deliver, continuer, event)
        wait_for(lambda: len(answer_of(firestore_db, conversation["id"])["content"]) > len(handed))
        cancelled = client.post(url, headers=owner.headers)
        assert pushed.result(timeout=30).status_code == 200

    stored = answer_of(firestore_db, conversation["id"])
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert stored["status"] == "cancelled" and stored["errorCode"] == "cancelled"
    assert len(handed) < len(stored["content"]) < len(uncut)
    assert uncut.startswith(stored["content"])
    [finished] = pull_events(runs_finished)
    assert finished.data_as(ChatRunData).outcome == "cancelled"
    assert holds_left(firestore_db) == []


def test_a_cancel_before_the_continuation_ends_it_cancelled_without_the_model(
    client: Any,
    owner: Owner,
    paced: None,
    configure: Configure,
    handoffs: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    configure(CHAT_CANCEL_WAIT_SECONDS="0")
    conversation = start_conversation(client, owner)
    cut = cut_stream(client, owner, conversation["id"])
    handed = answer_of(firestore_db, conversation["id"])
    [event] = pull_events(handoffs)
    spent = spend.tokens_spent_today(owner.guest.user_id)
    url = f"/v1/conversations/{conversation['id']}/messages/{cut.answer_id}/cancel"

    asked = client.post(url, headers=owner.headers)
    pushed = deliver(continuer, event)

    stored = answer_of(firestore_db, conversation["id"])
    assert asked.status_code == 200 and pushed.status_code == 200
    assert (stored["status"], stored["content"]) == ("cancelled", handed["content"])
    assert (stored["inputTokens"], stored["outputTokens"]) == (
        handed["inputTokens"],
        handed["outputTokens"],
    )
    assert spend.tokens_spent_today(owner.guest.user_id) == spent  # no model call
    assert holds_left(firestore_db) == []


# -- at least once ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode", [binary_cloud_event, structured_cloud_event], ids=["binary", "structured"]
)
def test_a_duplicate_delivery_continues_nothing_twice(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    runs_finished: str,
    continuer: LoadedFunction,
    firestore_db: Any,
    encode: Encoder,
) -> None:
    conversation = start_conversation(client, owner)
    cut_stream(client, owner, conversation["id"])
    [event] = pull_events(handoffs)

    first = deliver(continuer, event, encode)
    done = answer_of(firestore_db, conversation["id"])
    spent = spend.tokens_spent_today(owner.guest.user_id)
    again = deliver(continuer, event, encode)

    assert (first.status_code, again.status_code) == (200, 200)
    assert done["status"] == "completed"
    assert answer_of(firestore_db, conversation["id"]) == done
    assert spend.tokens_spent_today(owner.guest.user_id) == spent
    assert [e.type for e in pull_events(runs_finished)] == [chat_events.RUN_COMPLETED]


def test_a_delivery_while_another_continues_the_answer_leaves_it_to_that_one(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    runs_finished: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    uncut = uncut_answer(client, owner)
    pull_events(runs_finished)
    conversation = start_conversation(client, owner)
    cut_stream(client, owner, conversation["id"])
    [event] = pull_events(handoffs)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(deliver, continuer, event)
        wait_for(lambda: "claimedAt" in answer_of(firestore_db, conversation["id"])["handoff"])
        duplicate = deliver(continuer, event)
        still = answer_of(firestore_db, conversation["id"])["status"]
        assert first.result(timeout=30).status_code == 200

    assert duplicate.status_code == 200 and still == "pending"
    assert answer_of(firestore_db, conversation["id"])["content"] == uncut
    assert [e.type for e in pull_events(runs_finished)] == [chat_events.RUN_COMPLETED]


def test_a_claim_older_than_the_lease_is_taken_over(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    from datetime import timedelta

    from shared.core.models import utcnow

    uncut = uncut_answer(client, owner)
    conversation = start_conversation(client, owner)
    cut = cut_stream(client, owner, conversation["id"])
    [event] = pull_events(handoffs)
    ref = firestore_db.document(f"conversations/{conversation['id']}/messages/{cut.answer_id}")
    lease = timedelta(seconds=continuations.CLAIM_LEASE_SECONDS + 1)
    ref.update({continuations.CLAIMED_AT: utcnow() - lease})  # its instance died

    pushed = deliver(continuer, event)

    assert pushed.status_code == 200
    assert answer_of(firestore_db, conversation["id"])["content"] == uncut


def test_other_events_and_other_answers_are_acknowledged_and_change_nothing(
    client: Any,
    owner: Owner,
    paced: None,
    handoffs: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    conversation = start_conversation(client, owner)
    cut_stream(client, owner, conversation["id"])
    [event] = pull_events(handoffs)
    before = answer_of(firestore_db, conversation["id"])
    stale = event.model_copy(update={"id": "evt_" + "0" * 32})
    other_type = event.model_copy(update={"type": "chat.answer.something_else"})
    bad_data = event.model_copy(update={"data": {"conversationId": 5}})

    answers = [deliver(continuer, e).status_code for e in (stale, other_type, bad_data)]
    headers, body = binary_cloud_event(chat_continuations.TOPIC, push_message(b"not json"))
    poison = continuer.app.test_client().post("/", headers=headers, data=body)

    assert answers == [200, 200, 200] and poison.status_code == 200
    assert answer_of(firestore_db, conversation["id"]) == before


# -- spend --------------------------------------------------------------------------------


def test_a_continuation_the_guests_budget_cannot_cover_ends_failed_with_its_text(
    client: Any,
    owner: Owner,
    paced: None,
    configure: Configure,
    handoffs: str,
    runs_finished: str,
    continuer: LoadedFunction,
    firestore_db: Any,
) -> None:
    configure(CHAT_TOKENS_PER_DAY="20000")
    conversation = start_conversation(client, owner)
    cut_stream(client, owner, conversation["id"])
    handed = answer_of(firestore_db, conversation["id"])
    [event] = pull_events(handoffs)
    spent = spend.tokens_spent_today(owner.guest.user_id)
    # Another message of the guest's takes what is left of the day's budget meanwhile.
    day_meter = spend.token_meters(owner.guest.user_id, "", 20000 - spent, 20000)[0]
    spend.add([day_meter])

    pushed = deliver(continuer, event)

    stored = answer_of(firestore_db, conversation["id"])
    assert pushed.status_code == 200
    assert (stored["status"], stored["errorCode"]) == ("failed", "rate_limited")
    assert stored["content"] == handed["content"]
    assert spend.tokens_spent_today(owner.guest.user_id) == 20000  # nothing past the bound
    assert holds_left(firestore_db) == []
    [finished] = pull_events(runs_finished)
    assert finished.data_as(ChatRunData).error_code == "rate_limited"


def test_the_claim_lease_is_the_continuation_functions_timeout() -> None:
    [entry] = [e for e in load_manifest().functions if e.entry_point == "on_answer_continue"]

    assert entry.trigger.pubsub is not None
    assert entry.trigger.pubsub.topic == chat_continuations.TOPIC
    assert entry.scaling.timeout_seconds == continuations.CLAIM_LEASE_SECONDS
