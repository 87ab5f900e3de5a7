"""Conversations and their messages in Firestore.

`conversations/{cnv_...}` holds `userId agentId title messageCount createdAt updatedAt`;
`conversations/{id}/messages/{msg_...}` holds one message each with a per-conversation
sequence number `seq` (assigned in the commit that counts messages, so order never
depends on clock ties). A conversation is reachable only by its owner and only while its
agent exists: anyone else, or anything after the agent's deletion, gets 404. Sending a
message (one read, one guarded commit, cached history) lives in `shared.chat.send`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel

from shared.chat.models import ConversationPage, ConversationPublic, MessagePage, MessagePublic
from shared.core import errors, ids, state
from shared.core.models import utcnow
from shared.gcp import clients
from shared.identity import retention
from shared.limits import spend
from shared.web import etags

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

COLLECTION = "conversations"
MESSAGES = "messages"
# A conversation's agent never changes, so knowing it lets a send read both at once.
_agent_ids: dict[str, str] = {}
state.on_reset(_agent_ids.clear)
ERASING = "erasing"  # set while a conversation's messages are being deleted


@dataclass(frozen=True)
class ConversationRecord:
    id: str
    user_id: str
    agent_id: str
    title: str
    message_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_document(cls, conversation_id: str, data: dict[str, Any]) -> ConversationRecord:
        return cls(
            id=conversation_id,
            user_id=str(data["userId"]),
            agent_id=str(data["agentId"]),
            title=str(data.get("title", "")),
            message_count=int(data.get("messageCount", 0)),
            created_at=data["createdAt"],
            updated_at=data.get("updatedAt", data["createdAt"]),
        )

    def public(self) -> ConversationPublic:
        return ConversationPublic.model_validate(self, from_attributes=True)


class MessageRecord(MessagePublic):
    """A message as stored: the public fields plus its place in the conversation."""

    seq: int

    @classmethod
    def from_document(
        cls, message_id: str, conversation_id: str, data: dict[str, Any]
    ) -> MessageRecord:
        values: dict[str, Any] = {name: data.get(to_camel(name)) for name in _STORED}
        values["input_tokens"] = values["input_tokens"] or 0
        values["output_tokens"] = values["output_tokens"] or 0
        values["tool_calls"] = values["tool_calls"] or []
        return cls.model_construct(id=message_id, conversation_id=conversation_id, **values)

    def to_document(self, user_id: str) -> dict[str, Any]:
        return {"userId": user_id, **{to_camel(name): getattr(self, name) for name in _STORED}}

    def public(self) -> MessagePublic:
        return MessagePublic.model_construct(
            **{name: getattr(self, name) for name in MessagePublic.model_fields}
        )


# Stored under the camelCase of these names, beside `userId`.
_STORED = tuple(
    name for name in MessageRecord.model_fields if name not in ("id", "conversation_id")
)


def conversation_ref(conversation_id: str) -> Any:
    return clients.firestore().collection(COLLECTION).document(conversation_id)


def message_ref(conversation_id: str, message_id: str) -> Any:
    return conversation_ref(conversation_id).collection(MESSAGES).document(message_id)


def owned_agent(user_id: str, agent_id: str) -> AgentRecord:
    """The caller's agent, or `NotFound` (missing, deleted or someone else's)."""
    from shared.agents.store import get_owned_agent

    return get_owned_agent(user_id, agent_id)


def create_conversation(
    user_id: str, agent_id: str, title: str, session_expires_at: datetime | None = None
) -> ConversationRecord:
    """Start a conversation; with the owner's session expiry it (and every message stored
    in it, see `send.stage_exchange`) carries `expiresAt` for Firestore's TTL."""
    agent = owned_agent(user_id, agent_id)
    expires_at = retention.data_expiry(session_expires_at)
    now = utcnow()
    record = ConversationRecord(
        id=ids.new_id("cnv"),
        user_id=user_id,
        agent_id=agent.id,
        title=title or f"Chat with {agent.name}",
        message_count=0,
        created_at=now,
        updated_at=now,
    )
    hold = spend.take(
        [spend.guest_count(user_id, "conversations", 1, expires_at)]
    )  # 429 past the cap
    try:
        _create(record, expires_at)
    except Exception:
        hold.release()
        raise
    remember(record)
    return record


def _create(record: ConversationRecord, expires_at: datetime | None) -> None:
    document: dict[str, Any] = {
        "userId": record.user_id,
        "agentId": record.agent_id,
        "title": record.title,
        "messageCount": 0,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }
    if expires_at is not None:
        document["expiresAt"] = expires_at
    conversation_ref(record.id).create(document)


def owned_record(snapshot: Any, user_id: str) -> ConversationRecord:
    """The conversation in `snapshot` if `user_id` owns it; otherwise `NotFound`."""
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("userId") != user_id or data.get(ERASING):
        raise errors.NotFound(f"conversation {snapshot.id[:40]!r} does not exist")
    return ConversationRecord.from_document(snapshot.id, data)


def get_owned_conversation(user_id: str, conversation_id: str) -> ConversationRecord:
    """The caller's conversation while its agent exists; otherwise `NotFound`."""
    return conversation_with_agent(user_id, conversation_id)[0]


def conversation_with_agent(
    user_id: str, conversation_id: str
) -> tuple[ConversationRecord, AgentRecord]:
    """The caller's conversation and its agent; `NotFound` if either is gone or foreign."""
    record = owned_record(checked_ref(conversation_id).get(), user_id)
    try:
        return record, owned_agent(user_id, record.agent_id)
    except errors.NotFound:
        raise errors.NotFound(f"conversation {conversation_id} does not exist") from None


def checked_ref(conversation_id: str) -> Any:
    """The conversation's reference; `NotFound` for an id that cannot be one."""
    if not ids.is_id("cnv", conversation_id):
        raise errors.NotFound(f"conversation {conversation_id[:40]!r} does not exist")
    return conversation_ref(conversation_id)


def known_agent_id(conversation_id: str) -> str | None:
    """The conversation's agent id if this process has seen the conversation."""
    return _agent_ids.get(conversation_id)


def remember(record: ConversationRecord) -> None:
    """Note the conversation's agent for later sends (bounded; cleared when full)."""
    if len(_agent_ids) >= 10_000:
        _agent_ids.clear()
    _agent_ids[record.id] = record.agent_id


def list_conversations(
    user_id: str, agent_id: str, limit: int, page_token: str | None
) -> ConversationPage:
    """The caller's conversations with one agent, most recently active first."""
    from google.cloud.firestore import FieldFilter, Query

    owned_agent(user_id, agent_id)
    query = (
        clients.firestore()
        .collection(COLLECTION)
        .where(filter=FieldFilter("userId", "==", user_id))
        .where(filter=FieldFilter("agentId", "==", agent_id))
        .order_by("updatedAt", direction=Query.DESCENDING)
    )
    if page_token is not None:
        cursor = conversation_ref(page_token).get() if ids.is_id("cnv", page_token) else None
        if cursor is None or not cursor.exists or (cursor.to_dict() or {}).get("userId") != user_id:
            raise errors.InvalidRequest("pageToken is not a token from a previous page")
        query = query.start_after(cursor)
    snapshots = list(query.limit(limit + 1).stream())
    records = [ConversationRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots]
    next_token = records[limit - 1].id if len(records) > limit else None
    return ConversationPage(
        conversations=[record.public() for record in records[:limit]], next_page_token=next_token
    )


def delete_conversation(user_id: str, conversation_id: str, if_match: str | None = None) -> None:
    """Delete the messages, then the conversation (at most 1,000 messages: 2 batches);
    412 when `if_match` is not the conversation's ETag."""
    record = get_owned_conversation(user_id, conversation_id)
    etags.check_if_match(if_match, etags.etag_of(record.updated_at))
    erase(record)


def erase(record: ConversationRecord) -> None:
    """Delete the conversation's messages, then the conversation, counted down once.

    The conversation is marked `erasing` first: that write changes its update time, so a
    send that read it before (its commit is guarded by that time) fails and reads it again
    as gone, and a send that committed before is listed below. No message is left behind.
    """
    from google.api_core.exceptions import NotFound

    user_id = record.user_id
    db = clients.firestore()
    try:
        conversation_ref(record.id).update({ERASING: True})
    except NotFound:
        return  # erased already
    messages = conversation_ref(record.id).collection(MESSAGES)
    while True:
        refs = [snapshot.reference for snapshot in messages.limit(450).stream()]
        if not refs:
            break
        batch = db.batch()
        for ref in refs:
            batch.delete(ref)
        batch.commit()
    # Counted down once: a concurrent delete finds the document gone and changes nothing.
    from google.api_core.exceptions import FailedPrecondition

    batch = db.batch()
    batch.delete(conversation_ref(record.id), option=db.write_option(exists=True))
    spend.stage_add(batch, spend.guest_count(user_id, "conversations", -1))
    with contextlib.suppress(NotFound, FailedPrecondition):
        batch.commit()


def erase_agent_conversations(user_id: str, agent_id: str) -> int:
    """Erase every conversation of a deleted agent (idempotent: a rerun finds none)."""
    from google.cloud.firestore import FieldFilter

    query = (
        clients.firestore()
        .collection(COLLECTION)
        .where(filter=FieldFilter("agentId", "==", agent_id))
        .where(filter=FieldFilter("userId", "==", user_id))
    )
    erased = 0
    for snapshot in query.stream():
        erase(ConversationRecord.from_document(snapshot.id, snapshot.to_dict() or {}))
        erased += 1
    return erased


def list_messages(
    user_id: str, conversation_id: str, limit: int, before: str | None
) -> MessagePage:
    """Up to `limit` messages before the message `before` (or the newest), oldest first."""
    from google.cloud.firestore import FieldFilter, Query

    record = get_owned_conversation(user_id, conversation_id)
    query = (
        conversation_ref(record.id).collection(MESSAGES).order_by("seq", direction=Query.DESCENDING)
    )
    if before is not None:
        cursor = message_ref(record.id, before).get() if ids.is_id("msg", before) else None
        if cursor is None or not cursor.exists:
            raise errors.InvalidRequest(f"before: no message {before[:40]!r} in this conversation")
        query = query.where(filter=FieldFilter("seq", "<", int((cursor.to_dict() or {})["seq"])))
    snapshots = list(query.limit(limit + 1).stream())
    page = [MessageRecord.from_document(s.id, record.id, s.to_dict() or {}) for s in snapshots]
    next_before = page[limit - 1].id if len(page) > limit else None
    messages = [message.public() for message in reversed(page[:limit])]
    return MessagePage(messages=messages, next_before=next_before)
