"""Conversation storage against the Firestore emulator."""

from __future__ import annotations

from typing import Any

import pytest

from shared.agents import store as agents
from shared.chat import conversations
from shared.chat.conversations import ConversationRecord
from shared.core import errors


@pytest.fixture
def conversation(firestore_db: Any) -> ConversationRecord:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    return conversations.create_conversation("usr_owner", agent.id, "")


def test_a_foreign_or_malformed_conversation_is_not_found(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_other", conversation.id)
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_owner", "../agents/x")


def test_list_messages_rejects_an_unknown_cursor(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.InvalidRequest):
        conversations.list_messages("usr_owner", conversation.id, 10, "msg_unknown")


@pytest.mark.parametrize("token", ["cnv_a/b", "__proto__", "cnv_" + "0" * 23 + "/"])
def test_page_tokens_that_are_not_ids_are_a_400(firestore_db: Any, token: str) -> None:
    from shared.agents import store as agents
    from shared.chat import conversations
    from shared.core import errors
    from tests.support.guests import new_guest

    guest = new_guest()
    agent = agents.create_agent(guest.user_id, agents.AgentCreate(name="A"))

    with pytest.raises(errors.InvalidRequest):
        conversations.list_conversations(guest.user_id, agent.id, 10, token)


def test_deleting_a_conversation_while_messages_are_sent_leaves_no_message(
    firestore_db: Any,
) -> None:
    import threading

    from shared.chat import send

    owner = "usr_racer"
    agent = agents.create_agent(owner, agents.AgentCreate(name="Racer", model="offline"))
    for _ in range(12):
        record = conversations.create_conversation(owner, agent.id, "")
        start = threading.Barrier(2)

        def sender(conversation_id: str = record.id, barrier: threading.Barrier = start) -> None:
            barrier.wait()
            for _ in range(3):
                try:
                    admitted = send.admit(owner, conversation_id, "hello")
                except errors.NotFound:
                    return
                admitted.hold.release()

        thread = threading.Thread(target=sender)
        thread.start()
        start.wait()
        conversations.delete_conversation(owner, record.id)
        thread.join(30)

        messages = conversations.conversation_ref(record.id).collection("messages")
        assert not conversations.conversation_ref(record.id).get().exists
        assert list(messages.stream()) == []
