"""Run statistics of an agent, kept as sharded counters beside the agent document.

Firestore sustains about one write per second per document, so one stats document per
agent would be the first thing to break for a popular agent. Each finished run instead
adds to one of `SHARDS` documents `agents/{agentId}/statShards/{k}`, picked by a hash of
the event id, and readers sum the shards. The write uses field transforms only
(`Increment`, `Maximum`), so a transaction never reads a shard and concurrent runs never
contend on one. The agent document lists the shards in use (`statShards`), so readers
fetch only those: an agent without runs costs no extra read, a busy one at most
`SHARDS`. That list is written the first time a shard is used, at most `SHARDS` times in
an agent's life, so the agent document does not become hot either.

Counting rules (order-independent, so late or out-of-order delivery is harmless):
- every event is one run (`totalRuns`); `completed` adds to `successfulRuns`, `failed`
  to `failedRuns`, `incomplete` and `cancelled` (stopped on purpose) to neither, so
  `totalRuns >= successfulRuns + failedRuns`;
- tokens and latency of every run count; `avgLatencyMs` = summed latency / `totalRuns`;
- `lastRunAt` is the latest `finishedAt` seen (a `Maximum` over epoch microseconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shared.agents import totals
from shared.core.models import ApiModel
from shared.gcp import clients
from shared.messaging import events
from shared.messaging.events import Event
from shared.messaging.topics.chat_events import ChatRunData

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

# Readers sum shards 0..SHARDS-1: raising this is safe, lowering it would hide counts.
SHARDS = 8
SHARD_COLLECTION = "statShards"
SHARDS_IN_USE_FIELD = "statShards"  # on the agent document: indexes of shards written
CONSUMER = "agents-stats"  # the processed_events key prefix
_GET_ALL_CHUNK = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


class AgentStats(ApiModel):
    """Read-only run statistics of an agent, summed over its shards."""

    total_runs: int = Field(0, description="Finished runs, whatever their outcome.")
    successful_runs: int = Field(0, description="Runs whose answer completed.")
    failed_runs: int = Field(0, description="Runs that failed (incomplete runs are neither).")
    last_run_at: datetime | None = Field(None, description="When the latest run finished.")
    input_tokens: int = 0
    output_tokens: int = 0
    avg_latency_ms: float = Field(0.0, description="Mean latency over all runs.")


def shard_index(event_id: str) -> int:
    """The shard an event counts in: stable per event, spread evenly across events."""
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:8], "big") % SHARDS


def shard_refs(
    agent_ref: DocumentReference, indexes: Iterable[int] = range(SHARDS)
) -> list[DocumentReference]:
    shards = agent_ref.collection(SHARD_COLLECTION)
    return [shards.document(str(k)) for k in indexes]


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_MICROSECOND


def add_run(
    transaction: Transaction, agent_ref: DocumentReference, event_id: str, run: ChatRunData
) -> None:
    """Stage one run's contribution in the transaction (no reads, transforms only)."""
    from google.cloud import firestore

    shard = shard_refs(agent_ref, [shard_index(event_id)])[0]
    transaction.set(
        shard,
        {
            "totalRuns": firestore.Increment(1),
            "successfulRuns": firestore.Increment(1 if run.outcome == "completed" else 0),
            "failedRuns": firestore.Increment(1 if run.outcome == "failed" else 0),
            "inputTokens": firestore.Increment(max(0, run.input_tokens)),
            "outputTokens": firestore.Increment(max(0, run.output_tokens)),
            "latencyMsTotal": firestore.Increment(float(max(0.0, run.latency_ms))),
            "lastRunAtMicros": firestore.Maximum(_micros(run.finished_at)),
        },
        merge=True,
    )
    # The owner's dashboard totals count the run in the same exactly-once commit.
    totals.stage(transaction, run.user_id, runs=1, successes=1 if run.outcome == "completed" else 0)


def record_run(
    agent_ref: DocumentReference, event: Event, run: ChatRunData
) -> Literal["counted", "dropped", "duplicate"]:
    """Count the run once per event id: the shard update and the processed-event record
    commit together. A missing agent, or one not owned by the run's user, counts nothing
    (the event is still recorded, so redeliveries stop there too).

    The agent is read before the transaction, not in it, so the transaction touches only
    the shard and the processed-event key and concurrent runs of one agent never contend.
    The shard is listed on the agent before anything is counted in it, so readers never
    miss counts. An agent deleted between the read and the commit can leave one orphan
    shard behind; nothing reads it.
    """
    from google.api_core.exceptions import NotFound
    from google.cloud import firestore

    snapshot = agent_ref.get()
    data = (snapshot.to_dict() or {}) if snapshot.exists else {}
    owned = data.get("userId") == run.user_id
    shard = shard_index(event.id)
    if owned and shard not in (data.get(SHARDS_IN_USE_FIELD) or []):
        try:
            agent_ref.update({SHARDS_IN_USE_FIELD: firestore.ArrayUnion([shard])})
        except NotFound:
            owned = False

    def apply(transaction: Transaction) -> None:
        if owned:
            add_run(transaction, agent_ref, event.id, run)

    if not events.apply_once(CONSUMER, event.id, apply, kind=event.type).first:
        return "duplicate"
    return "counted" if owned else "dropped"


def delete_shards(writer: Any, agent_ref: DocumentReference) -> None:
    """Stage the deletion of every shard (a transaction or a write batch)."""
    for ref in shard_refs(agent_ref):
        writer.delete(ref)


def summarize(shards: Iterable[dict[str, Any]]) -> AgentStats:
    """Sum shard documents into the public stats."""
    totals = {"totalRuns": 0, "successfulRuns": 0, "failedRuns": 0}
    totals.update({"inputTokens": 0, "outputTokens": 0})
    latency_total = 0.0
    last_micros: int | None = None
    for shard in shards:
        for key in totals:
            totals[key] += int(shard.get(key) or 0)
        latency_total += float(shard.get("latencyMsTotal") or 0.0)
        micros = shard.get("lastRunAtMicros")
        if isinstance(micros, int) and (last_micros is None or micros > last_micros):
            last_micros = micros
    runs = totals["totalRuns"]
    return AgentStats(
        total_runs=runs,
        successful_runs=totals["successfulRuns"],
        failed_runs=totals["failedRuns"],
        last_run_at=None if last_micros is None else _EPOCH + last_micros * _ONE_MICROSECOND,
        input_tokens=totals["inputTokens"],
        output_tokens=totals["outputTokens"],
        avg_latency_ms=round(latency_total / runs, 3) if runs else 0.0,
    )


def read_stats(
    agent_refs: list[DocumentReference], in_use: dict[str, list[int]] | None = None
) -> dict[str, AgentStats]:
    """Stats of each agent, keyed by agent id, in one batched read per chunk of shards.

    `in_use` maps agent ids to the shards their documents list; without it every shard
    of every agent is read.
    """
    found: dict[str, list[dict[str, Any]]] = {ref.id: [] for ref in agent_refs}
    # Only the shards in use: a list page of agents without runs reads nothing here.
    refs = [
        shard
        for ref in agent_refs
        for shard in shard_refs(ref, range(SHARDS) if in_use is None else in_use.get(ref.id, ()))
    ]
    db = clients.firestore()
    for start in range(0, len(refs), _GET_ALL_CHUNK):
        for snapshot in db.get_all(refs[start : start + _GET_ALL_CHUNK]):
            parent = snapshot.reference.parent.parent
            if snapshot.exists and parent is not None and parent.id in found:
                found[parent.id].append(snapshot.to_dict() or {})
    return {agent_id: summarize(shards) for agent_id, shards in found.items()}
