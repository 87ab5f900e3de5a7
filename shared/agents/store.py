"""Agents: a named system prompt with a model and an optional persona, owned by one user.

Storage contract (chat reads it): collection `agents`, document id `agt_` + 24 hex,
camelCase fields `userId name description tags color icon systemPrompt model persona
status tools createdAt updatedAt expiresAt` (`tools` and `expiresAt`, the guest's data
expiry for Firestore's TTL, may be missing on older agents). Deleting is
a hard delete of the document and its stat shards. Anyone but the owner is told the agent
does not exist.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel

from shared.agents import stats as agent_stats
from shared.agents import totals as agent_totals
from shared.agents.models import (
    DEFAULT_COLOR,
    AgentCreate,
    AgentPage,
    AgentPublic,
    AgentUpdate,
    DashboardStats,
)
from shared.agents.stats import AgentStats
from shared.core import errors, ids
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.identity import retention
from shared.limits import spend
from shared.messaging import events, outbox
from shared.messaging.topics import agent_events
from shared.web import etags

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

COLLECTION = "agents"


@dataclass(frozen=True)
class AgentRecord:
    """An agent as stored."""

    id: str
    user_id: str
    name: str
    system_prompt: str
    model: str
    persona: str | None
    status: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    color: str = DEFAULT_COLOR
    icon: str = ""
    tools: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    # Written by the stats consumer, never by the API: which stat shards hold counts.
    stat_shards: list[int] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return etags.etag_of(self.updated_at)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_document(cls, agent_id: str, data: dict[str, Any]) -> AgentRecord:
        stored = {name: data[key] for name, key in _STORED_KEYS if key in data}
        stored.setdefault("updated_at", data["createdAt"])
        shards = [int(k) for k in data.get(agent_stats.SHARDS_IN_USE_FIELD) or []]
        return cls(id=agent_id, user_id=str(data["userId"]), stat_shards=shards, **stored)

    def to_document(self) -> dict[str, Any]:
        return {"userId": self.user_id, **{key: getattr(self, n) for n, key in _STORED_KEYS}}

    def public(self, stats: AgentStats | None = None) -> AgentPublic:
        fields = {name: getattr(self, name) for name in _STORED}
        return AgentPublic.model_validate({**fields, "id": self.id, "stats": stats or AgentStats()})


# Stored under the camelCase of these names, beside `userId`.
_STORED = tuple(
    name
    for name in AgentRecord.__dataclass_fields__
    if name not in ("id", "user_id", "stat_shards")
)
_STORED_KEYS = tuple((name, to_camel(name)) for name in _STORED)


def agent_ref(agent_id: str) -> DocumentReference:
    return clients.firestore().collection(COLLECTION).document(agent_id)


def _owned(snapshot: Any, user_id: str) -> AgentRecord:
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("userId") != user_id:
        raise errors.NotFound(f"agent {snapshot.id} does not exist")
    return AgentRecord.from_document(snapshot.id, data)


def _checked_ref(agent_id: str) -> DocumentReference:
    # A malformed id cannot name an agent; answering 404 keeps the contract's one message.
    if not ids.is_id("agt", agent_id):
        raise errors.NotFound(f"agent {agent_id[:40]!r} does not exist")
    return agent_ref(agent_id)


def get_owned_agent(user_id: str, agent_id: str) -> AgentRecord:
    """The caller's agent; `NotFound` if it is missing or belongs to someone else."""
    return _owned(_checked_ref(agent_id).get(), user_id)


def create_agent(
    user_id: str, body: AgentCreate, session_expires_at: datetime | None = None
) -> AgentRecord:
    """Store a new agent; with the owner's session expiry, the agent, its count and the
    guest's totals carry `expiresAt` (`shared.identity.retention`) for Firestore's TTL."""
    now = utcnow()
    expires_at = retention.data_expiry(session_expires_at)
    record = AgentRecord(
        id=ids.new_id("agt"),
        user_id=user_id,
        created_at=now,
        updated_at=now,
        **body.model_dump(),
    )
    active = 1 if record.active else 0
    document = record.to_document()
    if expires_at is not None:
        document["expiresAt"] = expires_at
    batch = clients.firestore().batch()
    batch.create(agent_ref(record.id), document)
    agent_totals.stage(batch, user_id, active=active, expires_at=expires_at)

    def undo(reverse: Any) -> None:
        reverse.delete(agent_ref(record.id))
        agent_totals.stage(reverse, user_id, active=-active)

    # One commit: the agent, the totals and the per-guest count; 429 past the cap.
    spend.commit_with(batch, [spend.guest_count(user_id, "agents", 1, expires_at)], undo)
    return record


def update_agent(
    user_id: str, agent_id: str, update: AgentUpdate, if_match: str | None = None
) -> AgentRecord:
    """Apply the fields present in `update`: a write guarded by the version read, so a
    concurrent delete wins and concurrent updates retry (`optimistic`), never a 500.
    `if_match` (an ETag) must match the stored agent's, else 412 and nothing changes."""
    ref = _checked_ref(agent_id)
    changes = update.model_dump(by_alias=True, exclude_unset=True)

    def attempt() -> AgentRecord:
        snapshot = ref.get()
        current = _owned(snapshot, user_id)
        etags.check_if_match(if_match, current.etag)
        if not changes:
            return current
        written = {**changes, "updatedAt": utcnow()}
        updated = AgentRecord.from_document(agent_id, {**(snapshot.to_dict() or {}), **written})
        batch = clients.firestore().batch()
        unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
        batch.update(ref, written, option=unchanged)
        agent_totals.stage(batch, user_id, active=int(updated.active) - int(current.active))
        batch.commit()
        return updated

    return firestore.optimistic(attempt)


def delete_agent(user_id: str, agent_id: str, if_match: str | None = None) -> None:
    """Hard-delete the agent and its stat shards (chat then answers 404 for it); its
    conversations go in the background (`agent.deleted`, staged in the same commit).
    412 when `if_match` is not the agent's ETag."""
    ref = _checked_ref(agent_id)
    event = events.new_event(
        agent_events.DELETED,
        agent_events.SOURCE,
        f"agents/{agent_id}",
        agent_events.AgentDeletedData(agent_id=agent_id, user_id=user_id, deleted_at=utcnow()),
    )

    def run(transaction: Transaction) -> None:
        current = _owned(ref.get(transaction=transaction), user_id)
        etags.check_if_match(if_match, current.etag)
        shards = agent_stats.shard_refs(ref)
        runs = agent_stats.summarize(
            s.to_dict() or {}
            for s in clients.firestore().get_all(shards, transaction=transaction)
            if s.exists
        )
        agent_stats.delete_shards(transaction, ref)
        transaction.delete(ref)
        spend.stage_add(transaction, spend.guest_count(user_id, "agents", -1))
        # Its runs leave the dashboard with it.
        agent_totals.stage(
            transaction,
            user_id,
            active=-int(current.active),
            runs=-runs.total_runs,
            successes=-runs.successful_runs,
        )
        outbox.stage(transaction, agent_events.TOPIC, event)

    firestore.transaction(run)
    # Short: the event is safe in the outbox; the relay publishes what this leaves behind.
    outbox.deliver(agent_events.TOPIC, event, timeout=2.0)


def with_stats(records: list[AgentRecord]) -> list[AgentPublic]:
    stats = agent_stats.read_stats(
        [agent_ref(record.id) for record in records],
        {record.id: record.stat_shards for record in records},
    )
    return [record.public(stats.get(record.id)) for record in records]


# -- listing: newest first, with an opaque cursor ---------------------------------------


def encode_page_token(record: AgentRecord) -> str:
    raw = json.dumps({"t": record.created_at.isoformat(), "id": record.id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[datetime, str]:
    """The cursor (createdAt, id) in a token this API issued; `InvalidRequest` otherwise."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        created_at, agent_id = datetime.fromisoformat(raw["t"]), str(raw["id"])
        if created_at.tzinfo is None or not ids.is_id("agt", agent_id):
            raise ValueError("unexpected cursor content")
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise errors.InvalidRequest(
            "pageToken is not a token this API issued; pass nextPageToken as it was returned",
            details=[{"field": "pageToken", "issue": "not a token this API issued"}],
        ) from None
    return created_at, agent_id


def list_agents(
    user_id: str, limit: int, page_token: str | None = None
) -> tuple[list[AgentRecord], str | None]:
    """One page of the user's agents, newest first, and the token of the next page.

    Needs the composite index agents(userId ASC, createdAt DESC, __name__ DESC).
    """
    from google.cloud.firestore import FieldFilter, Query

    query = (
        clients.firestore()
        .collection(COLLECTION)
        .where(filter=FieldFilter("userId", "==", user_id))
        .order_by("createdAt", direction=Query.DESCENDING)
        .order_by("__name__", direction=Query.DESCENDING)
    )
    if page_token is not None:
        created_at, agent_id = decode_page_token(page_token)
        query = query.start_after({"createdAt": created_at, "__name__": agent_id})
    snapshots = list(query.limit(limit + 1).stream())
    records = [AgentRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots[:limit]]
    more = len(snapshots) > limit
    return records, encode_page_token(records[-1]) if more else None


def agent_page(user_id: str, limit: int, page_token: str | None) -> AgentPage:
    """One page of the user's agents with their statistics."""
    records, next_token = list_agents(user_id, limit, page_token)
    return AgentPage(agents=with_stats(records), next_page_token=next_token)


def dashboard(user_id: str) -> DashboardStats:
    """Totals over the caller's agents, kept as they change (`totals`): O(1) reads."""
    totals = agent_totals.read(user_id)
    runs, successes = totals["totalRuns"], totals["successfulRuns"]
    return DashboardStats(
        total_agents=totals["agents"],
        active_agents=totals["activeAgents"],
        total_runs=runs,
        success_rate=round(successes / runs, 4) if runs else None,
    )
