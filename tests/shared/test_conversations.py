"""Conversation storage against the Firestore emulator."""

from __future__ import annotations

from typing import Any

import pytest

from shared import agents, conversations, errors
from shared.conversations import ConversationRecord


@pytest.fixture
def conversation(firestore_db: Any) -> ConversationRecord:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    return conversations.create_conversation("usr_owner", agent.id, "")


def complete_answer(
    record: ConversationRecord, answer: Any, text: str, status: str = "completed"
) -> None:
    conversations.message_ref(record.id, answer.id).update({"content": text, "status": status})


def test_append_exchange_stores_question_and_pending_answer_in_sequence(
    conversation: ConversationRecord, firestore_db: Any
) -> None:
    question, answer = conversations.append_exchange(conversation, "hi", cap=10)

    assert (question.seq, answer.seq) == (0, 1)
    assert (question.status, answer.status) == ("completed", "pending")
    stored = firestore_db.collection("conversations").document(conversation.id).get().to_dict()
    assert stored["messageCount"] == 2


def test_append_exchange_refuses_past_the_cap_and_stores_nothing(
    conversation: ConversationRecord,
) -> None:
    conversations.append_exchange(conversation, "one", cap=3)

    with pytest.raises(errors.Conflict):
        conversations.append_exchange(conversation, "two", cap=3)

    assert conversations.get_owned_conversation("usr_owner", conversation.id).message_count == 2


def test_history_skips_failed_answers_and_joins_turns_of_one_role(
    conversation: ConversationRecord,
) -> None:
    _, first = conversations.append_exchange(conversation, "q1", cap=100)
    complete_answer(conversation, first, "a1")
    _, failed = conversations.append_exchange(conversation, "q2", cap=100)
    complete_answer(conversation, failed, "", "failed")
    question, _ = conversations.append_exchange(conversation, "q3", cap=100)

    turns = conversations.history(conversation, question.seq, token_budget=1000)

    assert turns == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2\n\nq3"},
    ]


def test_history_keeps_the_newest_turns_within_the_budget(
    conversation: ConversationRecord,
) -> None:
    _, first = conversations.append_exchange(conversation, "x" * 400, cap=100)
    complete_answer(conversation, first, "y" * 400)
    question, _ = conversations.append_exchange(conversation, "latest", cap=100)

    turns = conversations.history(conversation, question.seq, token_budget=150)

    # The 100-token answer fits, but it may not lead: history starts with a user turn.
    assert turns == [{"role": "user", "content": "latest"}]


def test_a_foreign_or_malformed_conversation_is_not_found(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_other", conversation.id)
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_owner", "../agents/x")


def test_list_messages_rejects_an_unknown_cursor(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.InvalidRequest):
        conversations.list_messages(conversation, 10, "msg_unknown")
