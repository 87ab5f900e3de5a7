"""Admitting a chat message against the Firestore emulator: the commit, history, caches."""

from __future__ import annotations

from typing import Any

import pytest

from shared.agents import store as agents
from shared.chat import conversations
from shared.chat import send as chat_send
from shared.chat.conversations import ConversationRecord
from shared.core import errors, state


@pytest.fixture
def conversation(firestore_db: Any) -> ConversationRecord:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    return conversations.create_conversation("usr_owner", agent.id, "")


def complete_answer(
    record: ConversationRecord, answer: Any, text: str, status: str = "completed"
) -> None:
    conversations.message_ref(record.id, answer.id).update({"content": text, "status": status})


def admit(conversation: ConversationRecord, content: str) -> chat_send.Admission:
    return chat_send.admit(conversation.user_id, conversation.id, content)


def test_admit_stores_question_and_pending_answer_in_sequence(
    conversation: ConversationRecord, firestore_db: Any
) -> None:
    admitted = admit(conversation, "hi")
    question, answer = admitted.question, admitted.answer

    assert (question.seq, answer.seq) == (0, 1)
    assert (question.status, answer.status) == ("completed", "pending")
    stored = firestore_db.collection("conversations").document(conversation.id).get().to_dict()
    assert stored["messageCount"] == 2


def test_admit_refuses_past_the_cap_and_stores_nothing(
    conversation: ConversationRecord, settings: Any
) -> None:
    settings(CHAT_MAX_MESSAGES_PER_CONVERSATION="3")
    admit(conversation, "one")

    with pytest.raises(errors.Conflict):
        admit(conversation, "two")

    assert conversations.get_owned_conversation("usr_owner", conversation.id).message_count == 2


def test_history_skips_failed_answers_and_joins_turns_of_one_role(
    conversation: ConversationRecord,
) -> None:
    complete_answer(conversation, admit(conversation, "q1").answer, "a1")
    complete_answer(conversation, admit(conversation, "q2").answer, "", "failed")
    admitted = admit(conversation, "q3")

    turns = chat_send.history(admitted, token_budget=1000)

    assert turns == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2\n\nq3"},
    ]


def test_history_keeps_the_newest_turns_within_the_budget(
    conversation: ConversationRecord,
) -> None:
    complete_answer(conversation, admit(conversation, "x" * 400).answer, "y" * 400)
    admitted = admit(conversation, "latest")

    turns = chat_send.history(admitted, token_budget=150)

    # The 100-token answer fits, but it may not lead: history starts with a user turn.
    assert turns == [{"role": "user", "content": "latest"}]


def test_a_reset_makes_the_next_send_read_the_recent_messages_again(
    conversation: ConversationRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_send.history(admit(conversation, "q1"), token_budget=1000)  # caches up to q1
    since: list[int] = []
    real = chat_send._recent_messages

    def spy(conversation_id: str, up_to: int | None, since_seq: int = 0) -> list[dict[str, Any]]:
        since.append(since_seq)
        return real(conversation_id, up_to, since_seq)

    monkeypatch.setattr(chat_send, "_recent_messages", spy)

    cached = chat_send.read_for_send("usr_owner", conversation.id, [])
    assert cached.recent is not None
    cached.recent.result()
    state.reset()
    forgotten = chat_send.read_for_send("usr_owner", conversation.id, [])
    assert forgotten.recent is not None
    forgotten.recent.result()

    assert since == [1, 0]  # from the pending answer on; then everything again
