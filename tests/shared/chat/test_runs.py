"""Chat runs: admission under concurrency, history, and how an answer ends unread."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.agents import store as agents
from shared.chat import conversations
from shared.chat import runs as chat_runs
from shared.chat import send as chat_send
from shared.core import errors, state
from shared.messaging.topics import chat_events
from tests.support.messages_api import point_model_at
from tests.support.pubsub import pull_events, subscribe


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    state.reset()


def test_a_run_abandoned_before_its_first_event_is_stored_incomplete(
    firestore_db: Any, offline: None
) -> None:
    subscription = subscribe(chat_events.TOPIC)
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    run = chat_runs.start("usr_owner", conversation.id, "hello")

    run.abandon()
    run.abandon()  # a second close changes nothing

    stored = conversations.message_ref(conversation.id, run.answer.id).get().to_dict()
    assert (stored["status"], stored["content"]) == ("incomplete", "")
    [event] = pull_events(subscription)
    assert event.data["outcome"] == "incomplete"


def test_a_finished_run_is_not_abandoned_afterwards(firestore_db: Any, offline: None) -> None:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    run = chat_runs.start("usr_owner", conversation.id, "hello")

    run.exchange()
    run.abandon()

    stored = conversations.message_ref(conversation.id, run.answer.id).get().to_dict()
    assert stored["status"] == "completed" and stored["content"]


def test_a_conversation_deleted_while_its_answer_streams_leaves_nothing(
    firestore_db: Any, offline: None
) -> None:
    subscription = subscribe(chat_events.TOPIC)
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    run = chat_runs.start("usr_owner", conversation.id, "hello")
    streamed = run.events()
    assert next(streamed)[0] == "message.created"

    conversations.delete_conversation("usr_owner", conversation.id)
    names = [name for name, _ in streamed]

    assert names[-2:] == ["message.completed", "done"]
    assert not conversations.conversation_ref(conversation.id).get().exists
    assert list(conversations.conversation_ref(conversation.id).collections()) == []
    [event] = pull_events(subscription)  # the run still counts in the agent's statistics
    assert event.data["outcome"] == "completed"


# -- admission under concurrency and caching ------------------------------------------


@pytest.fixture
def settings(settings: Any, offline: None) -> Any:
    """The suite's `settings`, with the offline model answering."""
    return settings


def race_two_sends(
    monkeypatch: pytest.MonkeyPatch, conversation_id: str
) -> list[chat_runs.ChatRun | Exception]:
    """Two sends whose first reads both happen before either commits."""
    barrier = threading.Barrier(2, timeout=10)
    first_reads = itertools.count()
    real_read = chat_send.read_for_send

    def read_then_wait(*args: Any) -> chat_send.SendReads:
        reads = real_read(*args)
        if next(first_reads) < 2:
            barrier.wait()
        return reads

    monkeypatch.setattr(chat_send, "read_for_send", read_then_wait)

    def send(content: str) -> chat_runs.ChatRun | Exception:
        try:
            return chat_runs.start("usr_owner", conversation_id, content)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            return exc

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(send, ["one", "two"]))


def test_two_concurrent_sends_cannot_both_pass_a_limit_of_one(
    firestore_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(CHAT_MESSAGES_PER_MINUTE="1")
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")

    outcomes = race_two_sends(monkeypatch, conversation.id)

    assert sorted(type(o).__name__ for o in outcomes) == ["ChatRun", "RateLimited"]
    quota = firestore_db.collection("quotas").document("usr_owner").get().to_dict()
    assert quota["windowCount"] == 1
    assert len(list(conversations.message_ref(conversation.id, "x").parent.stream())) == 2


def test_two_concurrent_sends_cannot_both_take_the_last_exchange(
    firestore_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings(CHAT_MAX_MESSAGES_PER_CONVERSATION="2")
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")

    outcomes = race_two_sends(monkeypatch, conversation.id)

    assert sorted(type(o).__name__ for o in outcomes) == ["ChatRun", "Conflict"]
    assert conversations.get_owned_conversation("usr_owner", conversation.id).message_count == 2


def test_concurrent_sends_within_limits_are_both_stored_in_sequence(
    firestore_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")

    outcomes = race_two_sends(monkeypatch, conversation.id)

    runs = [o for o in outcomes if isinstance(o, chat_runs.ChatRun)]
    assert len(runs) == 2
    assert sorted(run.question.seq for run in runs) == [0, 2]
    quota = firestore_db.collection("quotas").document("usr_owner").get().to_dict()
    assert quota["windowCount"] == 2


def test_a_refused_send_counts_no_quota(firestore_db: Any, settings: Any) -> None:
    settings(CHAT_MAX_MESSAGES_PER_CONVERSATION="2")
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    chat_runs.start("usr_owner", conversation.id, "fills it").exchange()

    with pytest.raises(errors.Conflict):
        chat_runs.start("usr_owner", conversation.id, "no room")

    quota = firestore_db.collection("quotas").document("usr_owner").get().to_dict()
    assert quota["windowCount"] == 1


def test_history_includes_exchanges_stored_and_finished_elsewhere(
    firestore_db: Any, settings: Any
) -> None:
    """This process caches history; another instance's writes must still show."""
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    here = chat_runs.start("usr_owner", conversation.id, "q1")
    here.exchange()
    pending_here = chat_runs.start("usr_owner", conversation.id, "q2")
    # Another instance finishes that answer and stores a whole exchange of its own.
    conversations.message_ref(conversation.id, pending_here.answer.id).update(
        {"content": "a2 elsewhere", "status": "completed"}
    )
    pending_here.finished = True
    answer = chat_send.admit("usr_owner", conversation.id, "q3 elsewhere").answer
    conversations.message_ref(conversation.id, answer.id).update(
        {"content": "a3 elsewhere", "status": "completed"}
    )

    run = chat_runs.start("usr_owner", conversation.id, "q4")

    assert run.reply.messages == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": here.answer.content},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2 elsewhere"},
        {"role": "user", "content": "q3 elsewhere"},
        {"role": "assistant", "content": "a3 elsewhere"},
        {"role": "user", "content": "q4"},
    ]
    run.exchange()
    again = chat_runs.start("usr_owner", conversation.id, "q5")
    assert again.reply.messages[-3:] == [
        {"role": "user", "content": "q4"},
        {"role": "assistant", "content": run.answer.content},
        {"role": "user", "content": "q5"},
    ]


def test_a_send_reads_only_messages_newer_than_this_process_knows(
    firestore_db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    for content in ("q1", "q2"):
        chat_runs.start("usr_owner", conversation.id, content).exchange()
    reads: list[int] = []
    real = chat_send._recent_messages

    def spy(conversation_id: str, up_to: int | None, since: int = 0) -> list[dict[str, Any]]:
        reads.append(since)
        return real(conversation_id, up_to, since)

    monkeypatch.setattr(chat_send, "_recent_messages", spy)

    known = chat_runs.start("usr_owner", conversation.id, "q3")
    known.exchange()
    chat_send.admit("usr_owner", conversation.id, "q4 elsewhere")
    later = chat_runs.start("usr_owner", conversation.id, "q5")

    assert reads == [6]  # none for q3; from q4 on for q5
    assert [turn["content"] for turn in known.reply.messages][::2] == ["q1", "q2", "q3"]
    assert later.reply.messages[-1] == {"role": "user", "content": "q4 elsewhere\n\nq5"}
