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


def test_a_foreign_or_malformed_conversation_is_not_found(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_other", conversation.id)
    with pytest.raises(errors.NotFound):
        conversations.get_owned_conversation("usr_owner", "../agents/x")


def test_list_messages_rejects_an_unknown_cursor(conversation: ConversationRecord) -> None:
    with pytest.raises(errors.InvalidRequest):
        conversations.list_messages(conversation, 10, "msg_unknown")
