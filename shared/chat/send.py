"""Admitting a chat message: one read, one guarded commit, and the model's history.

`admit()` reads the conversation, its agent and the user's quota in one round, decides
(ownership, a paused agent, the conversation cap, the quotas) and stores the user's
message with a pending answer in one commit guarded by preconditions on what it read
(`optimistic` reads and decides again when one changed). Stored messages change once,
pending to final, so each process caches the final recent turns of a conversation and
`history()` reads only the messages from the oldest one that may still change.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.chat import conversations, spending
from shared.chat.conversations import MESSAGES, ConversationRecord, MessageRecord
from shared.core import errors, ids, state
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.limits import quotas, spend
from shared.web import pools

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

WINDOW = 200  # history considers at most this many newest messages
# Conversation id -> (seq below which all messages are final, those rows newest first, budget).
_history: dict[str, tuple[int, list[dict[str, Any]], int]] = {}
state.on_reset(_history.clear)
_lock = threading.Lock()
# Reads made beside the admission's batch, with the request's deadline (`shared.web.pools`).
_READS = ("chat-reads", 8)


@dataclass
class Admission:
    """An admitted message: its pending answer, and what `history()` needs."""

    conversation: ConversationRecord
    agent: AgentRecord
    question: MessageRecord
    answer: MessageRecord
    reads: SendReads
    hold: spend.Hold  # the run's reserved spend and its model calls' budget (`spending`)


def admit(user_id: str, conversation_id: str, content: str, address: str = "") -> Admission:
    """Reserve the run's spend, store the user's message and a pending answer; 404, 409
    (paused agent, full conversation) or 429 (quota, budget) otherwise, with nothing
    stored or reserved."""
    cap = quotas.get_quota_settings().chat_max_messages_per_conversation
    quota = [quotas.quota_ref(user_id)] if quotas.enabled() else []
    holds: list[spend.Hold] = []

    def attempt() -> Admission:
        reads = read_for_send(user_id, conversation_id, quota)
        if reads.agent.status != "active":
            raise errors.Conflict(f"agent {reads.agent.id} is paused; resume it to chat")
        batch = clients.firestore().batch()
        question, answer = stage_exchange(batch, reads, content, cap)
        if quota:
            quotas.stage_admission(batch, reads.others[0])
        if not holds:
            holds.append(spending.reserve(user_id, address, reads.agent, content))
        # Kept with the pending answer, so the sweep can give it back if this process dies.
        spend.stage_record(batch, holds[0], answer.id)
        batch.commit()
        return Admission(reads.conversation, reads.agent, question, answer, reads, holds[0])

    try:
        return firestore.optimistic(attempt)
    except BaseException:
        for hold in holds:
            hold.release()
        raise


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
    ref = conversations.checked_ref(conversation_id)
    with _lock:
        cached = _history.get(conversation_id)
    # Unknown here: read the recent messages beside the documents (discarded on a 404).
    recent = None
    if not cached:
        recent = pools.submit(*_READS, lambda: _recent_messages(conversation_id, None))
    agent_id = conversations.known_agent_id(conversation_id)
    refs = [ref, *others] + ([_agent_ref(agent_id)] if agent_id else [])
    found = {s.reference.path: s for s in clients.firestore().get_all(refs)}
    snapshot = found[ref.path]
    record = conversations.owned_record(snapshot, user_id)
    agent_snapshot = found.get(_agent_ref(record.agent_id).path)
    if agent_snapshot is None:
        agent_snapshot = _agent_ref(record.agent_id).get()
        conversations.remember(record)
    agent = _owned_agent(agent_snapshot, user_id, conversation_id)
    if cached and record.message_count > cached[0]:  # newer than the cache: read during commit
        recent = pools.submit(*_READS, lambda: _recent_messages(conversation_id, None, cached[0]))
    return SendReads(
        record,
        snapshot,
        agent,
        [found[other.path] for other in others],
        recent,
        cached or (0, [], 0),
    )


def _agent_ref(agent_id: str) -> Any:
    from shared.agents.store import agent_ref

    return agent_ref(agent_id)


def _owned_agent(snapshot: Any, user_id: str, conversation_id: str) -> AgentRecord:
    from shared.agents.store import AgentRecord

    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("userId") != user_id:
        raise errors.NotFound(f"conversation {conversation_id} does not exist")
    return AgentRecord.from_document(snapshot.id, data)


def stage_exchange(
    batch: Any, reads: SendReads, content: str, cap: int
) -> tuple[MessageRecord, MessageRecord]:
    """Add the user's message and a pending answer to `batch`; `Conflict` past the cap.

    Both slots are counted at once, so an accepted message always has room for its answer.
    The count is written only if the conversation is unchanged since it was read.
    """
    current, snapshot, user_id = reads.conversation, reads.snapshot, reads.conversation.user_id
    if current.message_count + 2 > cap:
        raise errors.Conflict(
            f"conversation holds {current.message_count} messages; the limit is {cap}"
        )
    now = utcnow()
    seq = current.message_count
    question = MessageRecord(
        id=ids.new_id("msg"),
        conversation_id=current.id,
        role="user",
        content=content,
        status="completed",
        seq=seq,
        created_at=now,
        completed_at=now,
    )
    answer = MessageRecord(
        id=ids.new_id("msg"),
        conversation_id=current.id,
        role="assistant",
        content="",
        status="pending",
        seq=seq + 1,
        created_at=now,
    )
    unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
    batch.update(snapshot.reference, {"messageCount": seq + 2, "updatedAt": now}, option=unchanged)
    # Messages go with their conversation (Firestore TTL on both).
    expires_at = (snapshot.to_dict() or {}).get("expiresAt")
    messages = conversations.conversation_ref(current.id).collection(MESSAGES)
    for message in (question, answer):
        document = message.to_document(user_id)
        if expires_at is not None:
            document["expiresAt"] = expires_at
        batch.create(messages.document(message.id), document)
    return question, answer


def history(admission: Admission, token_budget: int) -> list[dict[str, str]]:
    """The turns up to the admitted message that fit the budget, as Messages API turns:
    the process's cached older turns plus the messages read beside the admission."""
    reads, question = admission.reads, admission.question
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


def turns_up_to(conversation_id: str, seq: int, token_budget: int) -> list[dict[str, str]]:
    """The turns `history` gives a run whose user's message is `seq`, read again from the
    stored messages (for the continuation of its answer, on another instance)."""
    rows = _recent_messages(conversation_id, seq)
    return _turns([row for row in rows if seq - WINDOW < row["seq"] <= seq], token_budget)


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


def forget(conversation_id: str) -> None:
    """Drop the conversation's cached history (call after deleting the conversation)."""
    with _lock:
        _history.pop(conversation_id, None)


def _recent_messages(
    conversation_id: str, up_to_seq: int | None, since_seq: int = 0
) -> list[dict[str, Any]]:
    """Up to 200 messages, newest first, from `since_seq` (to `up_to_seq` if given)."""
    from google.cloud.firestore import FieldFilter, Query

    query = conversations.conversation_ref(conversation_id).collection(conversations.MESSAGES)
    if since_seq:
        query = query.where(filter=FieldFilter("seq", ">=", since_seq))
    if up_to_seq is not None:
        query = query.where(filter=FieldFilter("seq", "<=", up_to_seq))
    query = query.order_by("seq", direction=Query.DESCENDING).limit(WINDOW)
    return [snapshot.to_dict() or {} for snapshot in query.stream()]


def _cost(row: dict[str, Any]) -> int:
    from shared.llm.offline import estimate_tokens

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
