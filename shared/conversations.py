"""Conversations and their messages in Firestore.

`conversations/{cnv_...}` holds `userId agentId title messageCount createdAt updatedAt`;
`conversations/{id}/messages/{msg_...}` holds one message each with a per-conversation
sequence number `seq` (assigned in the commit that counts messages, so order never
depends on clock ties). A conversation is reachable only by its owner and only while its
agent exists: anyone else, or anything after the agent's deletion, gets 404.

Sending is one read and one commit: the commit carries a precondition on the documents it
decided on (`optimistic` reads and decides again when one changed). Stored messages change
once, pending to final, so each process caches the final recent turns of a conversation
and a send reads only the messages from the oldest one that may still change.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from shared import clients, errors
from shared.models import utcnow

if TYPE_CHECKING:
    from shared.agents import AgentRecord

COLLECTION = "conversations"
MESSAGES = "messages"
Status = Literal["pending", "completed", "failed", "incomplete"]
ATTEMPTS = 5
WINDOW = 200  # history considers at most this many newest messages
T = TypeVar("T")
# A conversation's agent never changes, so knowing it lets a send read both at once.
_agent_ids: dict[str, str] = {}
# Conversation id -> (seq below which all messages are final, those rows newest first, budget).
_history: dict[str, tuple[int, list[dict[str, Any]], int]] = {}
_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


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


@dataclass
class MessageRecord:
    id: str
    conversation_id: str
    role: Literal["user", "assistant"]
    content: str
    status: Status
    seq: int
    created_at: datetime
    completed_at: datetime | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    stop_reason: str | None = None
    error_code: str | None = None
    persona: str | None = None
    confidence: float | None = None

    _FIELDS = (
        "role", "content", "status", "seq", "created_at", "completed_at", "model",
        "input_tokens", "output_tokens", "latency_ms", "stop_reason", "error_code", "persona",
        "confidence",
    )  # fmt: skip

    @classmethod
    def from_document(
        cls, message_id: str, conversation_id: str, data: dict[str, Any]
    ) -> MessageRecord:
        values: dict[str, Any] = {name: data.get(_camel(name)) for name in cls._FIELDS}
        values["input_tokens"] = values["input_tokens"] or 0
        values["output_tokens"] = values["output_tokens"] or 0
        return cls(id=message_id, conversation_id=conversation_id, **values)

    def to_document(self, user_id: str) -> dict[str, Any]:
        return {"userId": user_id, **{_camel(name): getattr(self, name) for name in self._FIELDS}}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def conversation_ref(conversation_id: str) -> Any:
    return clients.firestore().collection(COLLECTION).document(conversation_id)


def message_ref(conversation_id: str, message_id: str) -> Any:
    return conversation_ref(conversation_id).collection(MESSAGES).document(message_id)


def owned_agent(user_id: str, agent_id: str) -> AgentRecord:
    """The caller's agent, or `NotFound` (missing, deleted or someone else's)."""
    from shared.agents import get_owned_agent

    return get_owned_agent(user_id, agent_id)


def create_conversation(user_id: str, agent_id: str, title: str) -> ConversationRecord:
    agent = owned_agent(user_id, agent_id)
    now = utcnow()
    record = ConversationRecord(
        id="cnv_" + secrets.token_hex(12),
        user_id=user_id,
        agent_id=agent.id,
        title=title or f"Chat with {agent.name}",
        message_count=0,
        created_at=now,
        updated_at=now,
    )
    conversation_ref(record.id).create(
        {
            "userId": user_id,
            "agentId": record.agent_id,
            "title": record.title,
            "messageCount": 0,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    _remember(record)
    return record


def _owned(snapshot: Any, user_id: str) -> ConversationRecord:
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("userId") != user_id:
        raise errors.NotFound(f"conversation {snapshot.id[:40]!r} does not exist")
    return ConversationRecord.from_document(snapshot.id, data)


def get_owned_conversation(user_id: str, conversation_id: str) -> ConversationRecord:
    """The caller's conversation while its agent exists; otherwise `NotFound`."""
    return conversation_with_agent(user_id, conversation_id)[0]


def conversation_with_agent(
    user_id: str, conversation_id: str
) -> tuple[ConversationRecord, AgentRecord]:
    """The caller's conversation and its agent; `NotFound` if either is gone or foreign."""
    record = _owned(_checked_ref(conversation_id).get(), user_id)
    try:
        return record, owned_agent(user_id, record.agent_id)
    except errors.NotFound:
        raise errors.NotFound(f"conversation {conversation_id} does not exist") from None


def _checked_ref(conversation_id: str) -> Any:
    if not conversation_id.startswith("cnv_") or len(conversation_id) > 64:
        raise errors.NotFound(f"conversation {conversation_id[:40]!r} does not exist")
    return conversation_ref(conversation_id)


def _remember(record: ConversationRecord) -> None:
    if len(_agent_ids) >= 10_000:
        _agent_ids.clear()
    _agent_ids[record.id] = record.agent_id


def list_conversations(
    user_id: str, agent_id: str, limit: int, page_token: str | None
) -> tuple[list[ConversationRecord], str | None]:
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
    if page_token:
        cursor = conversation_ref(page_token).get() if page_token.startswith("cnv_") else None
        if cursor is None or not cursor.exists or (cursor.to_dict() or {}).get("userId") != user_id:
            raise errors.InvalidRequest("pageToken is not a token from a previous page")
        query = query.start_after(cursor)
    snapshots = list(query.limit(limit + 1).stream())
    records = [ConversationRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots]
    next_token = records[limit - 1].id if len(records) > limit else None
    return records[:limit], next_token


def delete_conversation(record: ConversationRecord) -> None:
    """Delete the messages, then the conversation (at most 1,000 messages: 2 batches)."""
    db = clients.firestore()
    messages = conversation_ref(record.id).collection(MESSAGES)
    while True:
        refs = [snapshot.reference for snapshot in messages.limit(450).stream()]
        if not refs:
            break
        batch = db.batch()
        for ref in refs:
            batch.delete(ref)
        batch.commit()
    conversation_ref(record.id).delete()
    with _lock:
        _history.pop(record.id, None)


@dataclass
class SendReads:
    """What a send reads before its one commit; `snapshot.update_time` guards that commit."""

    conversation: ConversationRecord
    snapshot: Any
    agent: AgentRecord
    others: list[Any]  # snapshots of the extra documents asked for, in order
    recent: Future[list[dict[str, Any]]] | None  # messages from `cached[0]` on, if any
    cached: tuple[int, list[dict[str, Any]], int]  # see `_cache_history`


def read_for_send(user_id: str, conversation_id: str, others: list[Any]) -> SendReads:
    """Conversation, agent and `others` in one read, with the recent messages alongside.

    `NotFound` if the conversation is foreign or missing or its agent is gone. The agent's
    id is read from the conversation the first time this process sees it (one more read).
    """
    ref = _checked_ref(conversation_id)
    with _lock:
        cached = _history.get(conversation_id)
    # Unknown here: read the recent messages beside the documents (discarded on a 404).
    recent = None if cached else _reads().submit(_recent_messages, conversation_id, None)
    agent_id = _agent_ids.get(conversation_id)
    refs = [ref, *others] + ([_agent_ref(agent_id)] if agent_id else [])
    found = {s.reference.path: s for s in clients.firestore().get_all(refs)}
    snapshot = found[ref.path]
    record = _owned(snapshot, user_id)
    agent_snapshot = found.get(_agent_ref(record.agent_id).path)
    if agent_snapshot is None:
        agent_snapshot = _agent_ref(record.agent_id).get()
        _remember(record)
    agent = _owned_agent(agent_snapshot, user_id, conversation_id)
    if cached and record.message_count > cached[0]:  # newer than the cache: read during commit
        recent = _reads().submit(_recent_messages, conversation_id, None, cached[0])
    return SendReads(
        record,
        snapshot,
        agent,
        [found[other.path] for other in others],
        recent,
        cached or (0, [], 0),
    )


def _agent_ref(agent_id: str) -> Any:
    from shared.agents import agent_ref

    return agent_ref(agent_id)


def _owned_agent(snapshot: Any, user_id: str, conversation_id: str) -> AgentRecord:
    from shared.agents import AgentRecord

    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("userId") != user_id:
        raise errors.NotFound(f"conversation {conversation_id} does not exist")
    return AgentRecord.from_document(snapshot.id, data)


def _reads() -> ThreadPoolExecutor:
    # Created on first use in each process: gunicorn forks workers after loading the app.
    global _pool  # noqa: PLW0603 - one pool per process
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(8, thread_name_prefix="chat-reads"))
    return _pool[1]


def optimistic(attempt: Callable[[], T]) -> T:
    """Run `attempt` (reads, then a commit guarded by preconditions) until it commits.

    A failed precondition means someone wrote in between: read again and decide again.
    """
    from google.api_core import exceptions

    for tries in range(ATTEMPTS):
        try:
            return attempt()
        except (exceptions.FailedPrecondition, exceptions.Conflict, exceptions.NotFound):
            time.sleep(0.005 * tries)  # spread retries of writers that collided
    raise errors.DependencyUnavailable("too many concurrent writes; retry", retry_after=1)


def stage_exchange(
    batch: Any, snapshot: Any, user_id: str, content: str, cap: int
) -> tuple[MessageRecord, MessageRecord]:
    """Add the user's message and a pending answer to `batch`; `Conflict` past the cap.

    Both slots are counted at once, so an accepted message always has room for its answer.
    The count is written only if the conversation is unchanged since `snapshot` was read.
    """
    current = _owned(snapshot, user_id)
    if current.message_count + 2 > cap:
        raise errors.Conflict(
            f"conversation holds {current.message_count} messages; the limit is {cap}"
        )
    now = utcnow()
    seq = current.message_count
    question = MessageRecord(
        "msg_" + secrets.token_hex(12), current.id, "user", content, "completed", seq, now, now
    )
    answer = MessageRecord(
        "msg_" + secrets.token_hex(12), current.id, "assistant", "", "pending", seq + 1, now
    )
    unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
    batch.update(snapshot.reference, {"messageCount": seq + 2, "updatedAt": now}, option=unchanged)
    for message in (question, answer):
        batch.create(message_ref(current.id, message.id), message.to_document(user_id))
    return question, answer


def append_exchange(
    record: ConversationRecord, content: str, cap: int
) -> tuple[MessageRecord, MessageRecord]:
    """Store the user's message and a pending answer, or `Conflict` when the cap is reached."""

    def attempt() -> tuple[MessageRecord, MessageRecord]:
        batch = clients.firestore().batch()
        snapshot = conversation_ref(record.id).get()
        exchange = stage_exchange(batch, snapshot, record.user_id, content, cap)
        batch.commit()
        return exchange

    return optimistic(attempt)


def list_messages(
    record: ConversationRecord, limit: int, before: str | None
) -> tuple[list[MessageRecord], str | None]:
    """Up to `limit` messages before the message `before` (or the newest), oldest first."""
    from google.cloud.firestore import FieldFilter, Query

    query = (
        conversation_ref(record.id).collection(MESSAGES).order_by("seq", direction=Query.DESCENDING)
    )
    if before:
        cursor = message_ref(record.id, before).get() if before.startswith("msg_") else None
        if cursor is None or not cursor.exists:
            raise errors.InvalidRequest(f"before: no message {before[:40]!r} in this conversation")
        query = query.where(filter=FieldFilter("seq", "<", int((cursor.to_dict() or {})["seq"])))
    snapshots = list(query.limit(limit + 1).stream())
    page = [MessageRecord.from_document(s.id, record.id, s.to_dict() or {}) for s in snapshots]
    next_before = page[limit - 1].id if len(page) > limit else None
    return list(reversed(page[:limit])), next_before


def history(record: ConversationRecord, up_to_seq: int, token_budget: int) -> list[dict[str, str]]:
    """The newest turns up to `up_to_seq` that fit the budget, as Messages API turns.

    Failed and pending answers are left out; turns of the same role in a row are joined
    (the API wants user and assistant to alternate, starting with the user).
    """
    return _turns(_recent_messages(record.id, up_to_seq), token_budget)


def history_of_send(
    reads: SendReads, question: MessageRecord, token_budget: int
) -> list[dict[str, str]]:
    """`history` up to `question`: the process's cached older turns plus the read delta."""
    since, cached, cached_budget = reads.cached
    rows = (reads.recent.result() if reads.recent else []) + [
        row for row in cached if row["seq"] < since
    ]
    before = question.seq - 1
    if (since and cached_budget != token_budget) or (
        before >= 0 and not any(row["seq"] == before for row in rows)
    ):
        # Trimmed for another budget, or an exchange was stored between that read and
        # the conversation's: read it all again.
        rows = _recent_messages(question.conversation_id, before)
    window = [row for row in rows if question.seq - WINDOW < row["seq"] < question.seq]
    rows = [question.to_document(""), *window]
    _cache_history(question.conversation_id, rows, token_budget)
    return _turns(rows, token_budget)


def _cache_history(conversation_id: str, rows: list[dict[str, Any]], token_budget: int) -> None:
    """Keep the final (no longer pending) newest rows the budget can still pick from.

    Stored messages change once, from pending to final, so the next send of this
    conversation only reads messages from the oldest pending one on.
    """
    pending = [row["seq"] for row in rows if row.get("status") == "pending"]
    final_below = min(pending) if pending else rows[0]["seq"] + 1
    kept: list[dict[str, Any]] = []
    spent = 0
    for row in rows:
        if row["seq"] >= final_below:
            continue
        kept.append(row)
        spent += _cost(row)
        if spent > token_budget:  # older turns can never fit again
            break
    with _lock:
        if len(_history) >= 256:
            _history.clear()
        _history[conversation_id] = (final_below, kept, token_budget)


def cache_answer(message: MessageRecord) -> None:
    """A finished answer joins its conversation's cached history (when next in line)."""
    with _lock:
        entry = _history.get(message.conversation_id)
        if entry is not None and entry[0] == message.seq:
            _history[message.conversation_id] = (
                message.seq + 1,
                [message.to_document(""), *entry[1]],
                entry[2],
            )


def _recent_messages(
    conversation_id: str, up_to_seq: int | None, since_seq: int = 0
) -> list[dict[str, Any]]:
    """Up to 200 messages, newest first, from `since_seq` (to `up_to_seq` if given)."""
    from google.cloud.firestore import FieldFilter, Query

    query = conversation_ref(conversation_id).collection(MESSAGES)
    if since_seq:
        query = query.where(filter=FieldFilter("seq", ">=", since_seq))
    if up_to_seq is not None:
        query = query.where(filter=FieldFilter("seq", "<=", up_to_seq))
    query = query.order_by("seq", direction=Query.DESCENDING).limit(WINDOW)
    return [snapshot.to_dict() or {} for snapshot in query.stream()]


def _cost(row: dict[str, Any]) -> int:
    from shared.model import estimate_tokens

    text = str(row.get("content") or "")
    return 0 if row.get("status") in ("pending", "failed") or not text else estimate_tokens(text)


def _turns(newest_first: list[dict[str, Any]], token_budget: int) -> list[dict[str, str]]:
    picked: list[dict[str, str]] = []
    spent = 0
    for data in newest_first:
        cost = _cost(data)
        if not cost:
            continue
        if picked and spent + cost > token_budget:
            break
        spent += cost
        picked.append({"role": str(data["role"]), "content": str(data["content"])})
    turns: list[dict[str, str]] = []
    for turn in reversed(picked):
        if turns and turns[-1]["role"] == turn["role"]:
            turns[-1] = {
                "role": turn["role"],
                "content": turns[-1]["content"] + "\n\n" + turn["content"],
            }
        elif turns or turn["role"] == "user":
            turns.append(turn)
    return turns
