"""The capacity model: what the manifest's maximum instances write to Firestore, publish to
Pub/Sub and take of Cloud Run's quotas, at 1x, 10x and 100x, and the first limit each
scale reaches. `make capacity` prints it and writes docs/capacity.md (a test fails when
the page is stale, and when the committed manifest passes a limit at 1x).

The emulators enforce none of Firestore's production limits, so only arithmetic from the
manifest shows them. The arithmetic, in order:

1. Load. Every HTTP entry point that calls the model (it holds the `anthropic-api-key`
   secret: chat, persona-router, ops) is taken at its maximum: `maxInstances x
   concurrency` runs at once, each holding its slot `MODEL_RUN_SECONDS`. The rest of the
   platform follows chat by a traffic mix per chat message (`MIX`): sessions, agents and
   conversations created, chat events consumed. A scale multiplies every maximum.
2. Writes. Each flow lists the documents one request writes (`Flow.writes`), as the
   platform's code writes them; tests/bench/test_capacity_writes.py records the writes
   the real code makes on the emulator and fails when they differ from these lists.
3. Limits. A document sustains about 1 write/s; a collection (or a composite index with
   a low-cardinality prefix) whose indexed field rises with time (a timestamp) about 500
   writes/s, unless the field is exempted from indexing (infra/firestore.tf); Cloud Run's
   regional vCPU and memory quotas; Pub/Sub's regional publish throughput.

Keyed documents (one guest's quota, one address's meter, one answer) are bounded by the
key's own limits, not by the scale: they are shown at the rate the limits admit.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import hcl2

from infra.manifest import ROOT, Entry, Manifest, load

PAGE = ROOT / "docs" / "capacity.md"
FIRESTORE_TF = ROOT / "infra" / "firestore.tf"
ROOT_VARIABLES_TF = ROOT / "infra" / "variables.tf"
SCALES = (1, 10, 100)

# --- published limits (docs/capacity.md cites where each comes from) ----------------------
DOCUMENT_WRITES_PER_SECOND = 1.0
SEQUENTIAL_INDEX_WRITES_PER_SECOND = 500.0
# Baseline regional quotas of a new project (the console's quotas page shows a project's own).
RUN_VCPU_QUOTA = 1000.0
RUN_MEMORY_GIB_QUOTA = 2000.0
# Publisher throughput per region in a large region such as europe-west1: 12,000,000 kB/min.
PUBSUB_PUBLISH_MB_PER_SECOND = 200.0
PUBSUB_MIN_REQUEST_KB = 1.0  # each publish request counts at least 1 kB

# --- planning figures: not measured in production; change them here and the page follows --
# A model run (a streamed chat answer, a persona answer, an ops plan) holds its slot this
# long on average. Shorter answers raise every chat-driven rate in proportion.
MODEL_RUN_SECONDS = 10.0
REQUEST_SECONDS = 0.1  # any other HTTP request (a few Firestore round trips)
EVENT_SECONDS = 0.2  # one Pub/Sub push (a transaction and its processed-event record)
# Requests of other kinds per chat message (the bench's daily mix: 100 guests, 200 agents,
# 2,000 messages; a conversation per five messages; every send with an Idempotency-Key).
MIX = {
    "guest session created": 0.05,
    "agent created": 0.1,
    "conversation created": 0.2,
}
IDEMPOTENT_SHARE = 1.0
GITHUB_DELIVERIES_PER_SECOND = 1.0  # at 1x; GitHub, not the manifest, sets this rate

# --- the platform's settings that bound keyed documents (their defaults, or Terraform's) --
MESSAGES_PER_GUEST_PER_MINUTE = 20  # CHAT_MESSAGES_PER_MINUTE (shared/limits/quotas.py)
STREAM_PERSIST_SECONDS = 1.0  # CHAT_STREAM_PERSIST_SECONDS (shared/chat/streams.py)
STAT_SHARDS = 8  # shared/agents/stats.py SHARDS
ALERT_CHAT_FAILURE_THRESHOLD = 5  # ALERT_CHAT_FAILURE_THRESHOLD (shared/alerts/state.py)
TOKENS_PER_DAY_GLOBAL = 20_000_000  # CHAT_TOKENS_PER_DAY_GLOBAL (shared/limits/spend.py)
# What one chat run reserves before the model: the longest answer (CHAT_MAX_OUTPUT_TOKENS
# 1,024) plus the history budget (CHAT_HISTORY_TOKEN_BUDGET 8,000) plus its text.
RUN_RESERVATION_TOKENS = 1024 + 8000 + 100
MODEL_SECRET = "anthropic-api-key"  # noqa: S105 - a secret's id, not a secret

# Rows the model finds over their limit whose fix is outside infra/: what removes each, and
# who owns it. A test fails when one is fixed (so the list only shrinks) or when a row over
# its limit is not here.
OPEN = {
    "index outbox.stagedAt": (
        "shared/messaging (outbox): the relay's query orders by stagedAt, so the field keeps "
        "its index; stage events under a random `shard` field and let the relay query per "
        "shard (a composite index shard + stagedAt), or keep unpublished events only."
    ),
    "index messages(status, createdAt) [collection group]": (
        "shared/chat (sweeps): the abandoned-answers sweep queries every conversation's "
        "messages by status and createdAt; query the `limits/hold_<answer>` records the "
        "admission already writes for each pending answer instead, or add a random "
        "`sweepShard` prefix to the index."
    ),
}

Spread = Literal["shards", "guest", "address", "agent", "answer", "unique"]


@dataclass(frozen=True)
class Doc:
    """A kind of document: where it lives, how its writes spread over documents, and the
    fields whose values rise with time that its writes set (their single-field indexes
    are hot spots once a collection takes ~500 such writes a second)."""

    path: str  # a readable template, e.g. limits/global_{shard}_tokens_{day}
    pattern: str  # a regular expression over the document's path (the writes test)
    spread: Spread
    sequential: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()  # other fields a write changes that composite indexes use
    per_parent: bool = False  # a subcollection: single-field entries are per parent
    # Timestamps a write sets that do not rise write after write (a day meter's expiry is
    # that day's end; a guest's counts expire with the guest): no hot spot.
    windowed: tuple[str, ...] = ()

    @property
    def collection(self) -> str:
        parts = self.path.split("/")
        return parts[-2]


DOCS: dict[str, Doc] = {
    "deployment token meter": Doc(
        "limits/global_{shard}_tokens_{day}",
        r"^limits/global_\d+_tokens_",
        "shards",
        ("updatedAt",),
        windowed=("expiresAt",),
    ),
    "guest token meter": Doc(
        "limits/user_{guest}_tokens_{day}",
        r"^limits/user_[^/]+_tokens_",
        "guest",
        ("updatedAt",),
        windowed=("expiresAt",),
    ),
    "address token meter": Doc(
        "limits/addr_{address}_tokens_{day}",
        r"^limits/addr_[^/]+_tokens_",
        "address",
        ("updatedAt",),
        windowed=("expiresAt",),
    ),
    "address message meter": Doc(
        "limits/addr_{address}_messages_{minute}",
        r"^limits/addr_[^/]+_messages_",
        "address",
        ("updatedAt", "expiresAt"),
    ),
    "address session meter": Doc(
        "limits/addr_{address}_sessions_{minute}",
        r"^limits/addr_[^/]+_sessions_",
        "address",
        ("updatedAt", "expiresAt"),
    ),
    "run hold record": Doc("limits/hold_{answer}", r"^limits/hold_", "unique", ("expiresAt",)),
    "guest agent count": Doc(
        "limits/user_{guest}_agents",
        r"^limits/user_[^/]+_agents$",
        "guest",
        ("updatedAt",),
        windowed=("expiresAt",),
    ),
    "guest conversation count": Doc(
        "limits/user_{guest}_conversations",
        r"^limits/user_[^/]+_conversations$",
        "guest",
        ("updatedAt",),
        windowed=("expiresAt",),
    ),
    "guest quota": Doc(
        "quotas/{guest}", r"^quotas/[^/]+$", "guest", ("updatedAt", "windowStart", "expiresAt")
    ),
    "session": Doc(
        "sessions/{token hash}", r"^sessions/[^/]+$", "unique", ("createdAt", "expiresAt")
    ),
    "agent": Doc(
        "agents/{agent}", r"^agents/[^/]+$", "unique", ("createdAt", "updatedAt", "expiresAt")
    ),
    "guest dashboard totals": Doc(
        "agent_totals/{guest}", r"^agent_totals/[^/]+$", "guest", windowed=("expiresAt",)
    ),
    "agent stat shard": Doc(
        "agents/{agent}/statShards/{k}", r"^agents/[^/]+/statShards/", "agent", per_parent=True
    ),
    "conversation (new)": Doc(
        "conversations/{conversation}",
        r"^conversations/[^/]+$",
        "unique",
        ("createdAt", "updatedAt", "expiresAt"),
    ),
    "conversation (message count)": Doc(
        "conversations/{conversation}", r"^conversations/[^/]+$", "guest", ("updatedAt",)
    ),
    "message (new)": Doc(
        "conversations/{conversation}/messages/{message}",
        r"^conversations/[^/]+/messages/",
        "unique",
        ("createdAt", "expiresAt"),
        indexed=("status",),
        per_parent=True,
    ),
    "answer (final)": Doc(
        "conversations/{conversation}/messages/{message}",
        r"^conversations/[^/]+/messages/",
        "unique",
        ("completedAt",),
        indexed=("status",),
        per_parent=True,
    ),
    "answer (partial text)": Doc(
        "conversations/{conversation}/messages/{message}",
        r"^conversations/[^/]+/messages/",
        "answer",
        per_parent=True,
    ),
    "outbox event": Doc("outbox/{event}", r"^outbox/", "unique", ("stagedAt",)),
    "idempotency record": Doc(
        "idempotency_keys/{hash}",
        r"^idempotency_keys/",
        "unique",
        ("createdAt", "expiresAt", "leaseUntil"),
    ),
    "processed event": Doc(
        "processed_events/{consumer}:{event}", r"^processed_events/", "unique", ("at", "expiresAt")
    ),
    "webhook delivery": Doc(
        "webhook_deliveries/{key}", r"^webhook_deliveries/", "unique", ("receivedAt", "expiresAt")
    ),
    "deployment": Doc("deployments/{key}", r"^deployments/", "unique", ("updatedAt",)),
    "alert counter": Doc(
        "alert_counters/{agent window}", r"^alert_counters/", "agent", ("expiresAt",)
    ),
    "alert": Doc(
        "alerts/{fingerprint}", r"^alerts/", "agent", ("lastSeenAt", "expiresAt"), ("status",)
    ),
    "alert group": Doc("alert_groups/{alertname}", r"^alert_groups/", "shards", ("updatedAt",)),
}


@dataclass(frozen=True)
class Flow:
    """One kind of request or event: the entry whose slots carry it, how long it holds a
    slot, what it writes (document kind -> writes per request; a delete counts as a write
    on the index entries it removes) and publishes (topic -> messages)."""

    name: str
    entry: str
    seconds: float
    writes: dict[str, float]
    publishes: dict[str, float] = field(default_factory=dict)
    scenario: Literal["steady", "outage"] = "steady"


def _model_run_writes(*, conversation: bool) -> dict[str, float]:
    """A model run's spend (shared/limits/admission.py): every token meter is taken before
    the call and settled after (2 writes each); a guest's run also counts one message on
    the address's minute meter and in the guest's quota."""
    writes = {
        "deployment token meter": 2.0,
        "guest token meter": 2.0,
        "address token meter": 2.0,
        "address message meter": 1.0,
        "guest quota": 1.0,
    }
    if conversation:  # shared/chat/send.py and runs.py
        writes |= {
            "run hold record": 2.0,  # created in the admission, deleted when settled
            "conversation (message count)": 1.0,
            "message (new)": 2.0,  # the question and the pending answer
            "answer (final)": 1.0,
            "answer (partial text)": MODEL_RUN_SECONDS / STREAM_PERSIST_SECONDS,
            "outbox event": 2.0,  # staged with the answer, deleted once published
            "idempotency record": 2.0 * IDEMPOTENT_SHARE,
        }
    return writes


def flows(manifest: Manifest) -> list[Flow]:
    """Every flow at 1x: rates follow from `rates()`; here, what each request does."""
    found = [
        Flow(
            "chat message",
            "chat",
            MODEL_RUN_SECONDS,
            _model_run_writes(conversation=True),
            {"chat-events": 1.0},
        ),
        Flow(
            "persona chat",
            "persona-router",
            MODEL_RUN_SECONDS,
            _model_run_writes(conversation=False),
        ),
        Flow(
            "ops plan",
            "ops",
            MODEL_RUN_SECONDS,
            {"deployment token meter": 2.0, "address token meter": 2.0},
        ),
        Flow(
            "guest session created",
            "guest-session",
            REQUEST_SECONDS,
            {"session": 1.0, "address session meter": 1.0},
        ),
        Flow(
            "agent created",
            "agents",
            REQUEST_SECONDS,
            {"agent": 1.0, "guest dashboard totals": 1.0, "guest agent count": 1.0},
        ),
        Flow(
            "conversation created",
            "chat",
            REQUEST_SECONDS,
            {"conversation (new)": 1.0, "guest conversation count": 1.0},
        ),
        Flow(
            "chat event counted (agents-stats)",
            "agents-stats",
            EVENT_SECONDS,
            {"agent stat shard": 1.0, "guest dashboard totals": 1.0, "processed event": 1.0},
        ),
        Flow("chat event read (alerts-chat-failures)", "alerts-chat-failures", EVENT_SECONDS, {}),
        Flow(
            "GitHub delivery",
            "webhook",
            REQUEST_SECONDS,
            {"webhook delivery": 2.0, "deployment": 1.0, "outbox event": 2.0},
            {"deploy-events": 1.0},
        ),
        Flow(
            "deploy event alerted (alerts-deploys)",
            "alerts-deploys",
            EVENT_SECONDS,
            {"processed event": 1.0, "alert": 1.0},
        ),
        # A model-provider outage: every chat run fails. Each failure counts in its agent's
        # window; past the threshold it is an alert, and each agent's first alert joins the
        # one group of its alertname (shared/alerts/sources.py, state.py).
        Flow(
            "failed run alerted (alerts-chat-failures)",
            "alerts-chat-failures",
            EVENT_SECONDS,
            {
                "processed event": 2.0,
                "alert counter": 1.0,
                "alert": 1.0,
                "alert group": 1.0 / ALERT_CHAT_FAILURE_THRESHOLD,
            },
            scenario="outage",
        ),
    ]
    names = {entry.name for entry in manifest.functions}
    return [flow for flow in found if flow.entry in names]


# --- rates ---------------------------------------------------------------------------------


def model_entries(manifest: Manifest) -> list[Entry]:
    """HTTP entry points that call the model (they hold its key): the load. A Pub/Sub entry
    holding the key (a continuation of an answer) carries runs these already admitted."""
    return [
        e
        for e in manifest.functions
        if e.is_http and any(s.secret == MODEL_SECRET for s in e.secrets)
    ]


def slots(entry: Entry, scale: float = 1.0) -> float:
    return entry.scaling.max_instances * entry.scaling.concurrency * scale


def rates(manifest: Manifest, scale: float) -> dict[str, float]:
    """Requests (or events) per second of each flow at `scale` x the manifest."""
    entries = {entry.name: entry for entry in manifest.functions}
    chat = slots(entries["chat"], scale) / MODEL_RUN_SECONDS
    found: dict[str, float] = {}
    for flow in flows(manifest):
        if (
            flow.entry in {e.name for e in model_entries(manifest)}
            and flow.seconds == MODEL_RUN_SECONDS
        ):
            found[flow.name] = slots(entries[flow.entry], scale) / MODEL_RUN_SECONDS
        elif flow.name in MIX:
            found[flow.name] = chat * MIX[flow.name]
        elif flow.name == "GitHub delivery":
            found[flow.name] = GITHUB_DELIVERIES_PER_SECOND * scale
    published = publish_rates(manifest, found)
    for flow in flows(manifest):
        if flow.name.startswith("chat event") or flow.name.startswith("failed run"):
            found[flow.name] = published.get("chat-events", 0.0)
        elif flow.name.startswith("deploy event"):
            found[flow.name] = published.get("deploy-events", 0.0)
    return found


def publish_rates(manifest: Manifest, flow_rates: dict[str, float]) -> dict[str, float]:
    topics: dict[str, float] = {}
    for flow in flows(manifest):
        for topic, count in flow.publishes.items():
            topics[topic] = topics.get(topic, 0.0) + count * flow_rates.get(flow.name, 0.0)
    return topics


def token_budget_shards(manifest: Manifest, scale: float = 1.0) -> int:
    """Shards the deployment's daily token meter needs so that no shard takes more than
    one write a second at the manifest's peak: every model run writes its shard twice
    (reserve, settle). Terraform computes the same from the manifest
    (modules/runtime_config `token_budget_shards`) and sets CHAT_TOKEN_BUDGET_SHARDS."""
    runs = sum(slots(entry, scale) for entry in model_entries(manifest)) / MODEL_RUN_SECONDS
    return max(1, math.ceil(runs * 2 / DOCUMENT_WRITES_PER_SECOND))


# --- rows ----------------------------------------------------------------------------------

Kind = Literal["document", "keyed document", "index", "pubsub", "cloud run", "budget"]


@dataclass(frozen=True)
class Row:
    key: str  # unique, stable: tests and OPEN name rows by it
    kind: Kind
    what: str  # what is measured, for the page
    unit: str
    limit: float
    values: dict[int, float]  # scale -> value
    scenario: str = "steady"
    note: str = ""
    scales_with_load: bool = True
    exempt: bool = False  # an index row whose field Terraform exempts from indexing
    lower_is_over: bool = False  # the budget row: over when the value drops below the limit

    def over(self, scale: int) -> bool:
        if self.exempt:
            return False
        value = self.values[scale]
        return value < self.limit if self.lower_is_over else value > self.limit

    def reached_at(self) -> float | None:
        """The multiple of the manifest at which this row reaches its limit (rows that grow
        linearly with load), or None if it never does."""
        if self.exempt or not self.scales_with_load:
            return None
        base = self.values[1]
        if self.lower_is_over:
            return base / self.limit if base > 0 else 0.0
        return self.limit / base if base > 0 else None


@dataclass(frozen=True)
class Terraform:
    """What infra/ says that the model needs."""

    exemptions: dict[str, set[str]]  # collection -> fields exempted from single-field indexes
    composite: dict[str, dict[str, Any]]  # index key -> {collection, query_scope, fields}
    chat_post_per_minute: int


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {_strip(k): _strip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _one(value: Any) -> Any:
    """An attribute's value, unwrapped from the one-element list some hcl2 dialects use."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _blocks(path: Path, kind: str) -> dict[str, Any]:
    """The `locals` attributes (or `variable` blocks) of one file, by name."""
    with path.open() as handle:
        parsed = _strip(hcl2.load(handle))
    found: dict[str, Any] = {}
    for block in parsed.get(kind, []):
        found.update({key: _one(value) for key, value in block.items()})
    return found


def read_terraform() -> Terraform:
    firestore = _blocks(FIRESTORE_TF, "locals")
    ttl: dict[str, str] = firestore.get("firestore_ttl_fields") or {}
    indexed = firestore.get("firestore_ttl_fields_indexed") or []
    indexed = {indexed} if isinstance(indexed, str) else set(indexed)
    exemptions: dict[str, set[str]] = {
        str(collection): {str(name) for name in ([names] if isinstance(names, str) else names)}
        for collection, names in (firestore.get("firestore_index_exemptions") or {}).items()
    }
    for collection, field_name in ttl.items():
        if collection not in indexed:
            exemptions.setdefault(collection, set()).add(field_name)
    rate_limits = _one(_blocks(ROOT_VARIABLES_TF, "variable")["rate_limits"]["default"])
    return Terraform(
        exemptions=exemptions,
        composite=dict(firestore.get("firestore_indexes") or {}),
        chat_post_per_minute=int(rate_limits["chat_post_per_minute"]),
    )


# Fields whose few values make a composite index's prefix low-cardinality (every write
# lands on one of a handful of ranges); anything else (user, agent ids) spreads.
LOW_CARDINALITY = {"status", "scenario"}


@dataclass
class Model:
    manifest: Manifest
    terraform: Terraform
    rows: list[Row]

    def row(self, key: str) -> Row:
        return next(row for row in self.rows if row.key == key)

    def over(self, scale: int, *, scenario: str = "steady") -> list[Row]:
        return [r for r in self.rows if r.scenario == scenario and r.over(scale)]

    def first_limit(self, scale: int) -> Row | None:
        """The row over its limit at `scale` that the load reaches first."""
        over = [r for r in self.over(scale) if r.kind != "keyed document"]
        if not over:
            return None
        return min(over, key=lambda r: (r.reached_at() or 0.0, r.key))


def _writes(manifest: Manifest, scale: int, scenario: str) -> dict[str, dict[str, float]]:
    """Document kind -> flow -> writes per second at `scale`."""
    flow_rates = rates(manifest, scale)
    found: dict[str, dict[str, float]] = {}
    for flow in flows(manifest):
        if flow.scenario not in ("steady", scenario):
            continue
        if scenario == "outage" and flow.name == "chat event read (alerts-chat-failures)":
            continue
        for doc, count in flow.writes.items():
            found.setdefault(doc, {})[flow.name] = count * flow_rates.get(flow.name, 0.0)
    return found


def _keyed_rate(doc: Doc, name: str, manifest: Manifest, terraform: Terraform) -> float | None:
    """Writes/s one document of a keyed kind takes at the rate its key's limits admit."""
    guest_runs = MESSAGES_PER_GUEST_PER_MINUTE / 60
    address_runs = terraform.chat_post_per_minute / 60
    per_run = {f.name: f.writes for f in flows(manifest) if f.scenario == "steady"}
    # What one guest's chat message writes, and what counting its run writes after.
    chat_writes = per_run.get("chat message", {}) | per_run.get(
        "chat event counted (agents-stats)", {}
    )
    if doc.spread == "guest":
        return guest_runs * chat_writes.get(name, 0.0) or None
    if doc.spread == "address":
        return address_runs * chat_writes.get(name, 0.0) or None
    if doc.spread == "answer":
        return 1.0 / STREAM_PERSIST_SECONDS
    if doc.spread == "agent" and name == "agent stat shard":
        return guest_runs / STAT_SHARDS  # one guest's runs, spread over the agent's shards
    return None


def build(manifest: Manifest | None = None, terraform: Terraform | None = None) -> Model:
    manifest = manifest or load()
    terraform = terraform or read_terraform()
    rows: list[Row] = []

    storm = {doc for f in flows(manifest) if f.scenario == "outage" for doc in f.writes}
    for scenario in ("steady", "outage"):
        writes = {scale: _writes(manifest, scale, scenario) for scale in SCALES}
        if scenario == "outage":  # only what the storm adds to
            writes = {
                scale: {doc: by_flow for doc, by_flow in found.items() if doc in storm}
                for scale, found in writes.items()
            }
        # Documents shared by the whole deployment: the rate grows with the load.
        for name, doc in DOCS.items():
            if doc.spread != "shards" or name not in writes[1]:
                continue
            per_doc = {}
            for scale in SCALES:
                total = sum(writes[scale].get(name, {}).values())
                documents = (
                    token_budget_shards(manifest, scale) if name == "deployment token meter" else 1
                )
                per_doc[scale] = total / documents
            shards = token_budget_shards(manifest)
            note = (
                f"{shards} shards at 1x (CHAT_TOKEN_BUDGET_SHARDS, derived from the manifest: "
                "the shard count follows a scaled manifest)"
                if name == "deployment token meter"
                else "one document per alertname (ALERT_GROUP_BY); an agent's first alert joins it"
            )
            rows.append(
                Row(
                    f"document {name}",
                    "document",
                    f"{doc.path} (per document)",
                    "writes/s",
                    DOCUMENT_WRITES_PER_SECOND,
                    per_doc,
                    scenario,
                    note,
                    scales_with_load=name != "deployment token meter",
                )
            )
        # Sequential fields of each collection, and composite indexes with a hot prefix.
        by_field: dict[tuple[str, str], dict[int, float]] = {}
        for name, doc in DOCS.items():
            if doc.per_parent:
                continue
            for field_name in doc.sequential:
                key = (doc.collection, field_name)
                for scale in SCALES:
                    total = sum(writes[scale].get(name, {}).values())
                    by_field.setdefault(key, dict.fromkeys(SCALES, 0.0))[scale] += total
        for (collection, field_name), values in sorted(by_field.items()):
            if values[1] == 0:
                continue
            exempt = field_name in terraform.exemptions.get(collection, set())
            rows.append(
                Row(
                    f"index {collection}.{field_name}",
                    "index",
                    f"`{collection}.{field_name}` single-field index",
                    "writes/s",
                    SEQUENTIAL_INDEX_WRITES_PER_SECOND,
                    values,
                    scenario,
                    "exempted from indexing (infra/firestore.tf)" if exempt else "indexed",
                    exempt=exempt,
                )
            )
        for index_key, index in sorted(terraform.composite.items()):
            row = _composite_row(index_key, index, writes, scenario)
            if row is not None:
                rows.append(row)

    # Keyed documents: bounded by their key's limits, the same at every scale.
    for name, doc in DOCS.items():
        rate = _keyed_rate(doc, name, manifest, terraform)
        if rate is None:
            continue
        bound = {
            "guest": f"one guest at CHAT_MESSAGES_PER_MINUTE = {MESSAGES_PER_GUEST_PER_MINUTE}",
            "address": (
                f"one address at Cloud Armor's {terraform.chat_post_per_minute} chat POSTs a "
                "minute (CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE)"
            ),
            "answer": (
                f"one answer, stored every CHAT_STREAM_PERSIST_SECONDS = {STREAM_PERSIST_SECONDS:g}"
            ),
            "agent": f"one agent's runs over its {STAT_SHARDS} stat shards",
        }[doc.spread]
        rows.append(
            Row(
                f"keyed {name}",
                "keyed document",
                f"{doc.path} (per document)",
                "writes/s",
                DOCUMENT_WRITES_PER_SECOND,
                dict.fromkeys(SCALES, rate),
                note=bound,
                scales_with_load=False,
            )
        )

    rows += _pubsub_rows(manifest)
    rows += _cloud_run_rows(manifest)
    rows.append(_budget_row(manifest))
    return Model(manifest, terraform, rows)


def _composite_row(
    key: str,
    index: dict[str, Any],
    writes: dict[int, dict[str, dict[str, float]]],
    scenario: str,
) -> Row | None:
    """A composite index whose leading equality fields take few values and that holds a
    rising field: every write lands at the end of one of a few ranges."""
    fields = [str(f["field_path"]) for f in index["fields"]]
    collection = str(index["collection"])
    docs = {n: d for n, d in DOCS.items() if d.collection == collection}
    rising = {f for d in docs.values() for f in d.sequential}
    position = next((i for i, f in enumerate(fields) if f in rising), None)
    if position is None or not set(fields[:position]) <= LOW_CARDINALITY:
        return None
    touched = set(fields)
    values = dict.fromkeys(SCALES, 0.0)
    for name, doc in docs.items():
        if touched & (set(doc.sequential) | set(doc.indexed)):
            for scale in SCALES:
                values[scale] += sum(writes[scale].get(name, {}).values())
    if values[1] == 0:
        return None
    scope = str(index.get("query_scope", "COLLECTION"))
    label = f"{collection}({', '.join(fields)})" + (
        " [collection group]" if scope == "COLLECTION_GROUP" else ""
    )
    return Row(
        f"index {label}",
        "index",
        f"composite index `{key}`",
        "writes/s",
        SEQUENTIAL_INDEX_WRITES_PER_SECOND,
        values,
        scenario,
        f"prefix {', '.join(fields[:position])} takes few values; {fields[position]} rises",
    )


def _pubsub_rows(manifest: Manifest) -> list[Row]:
    per_scale = {scale: publish_rates(manifest, rates(manifest, scale)) for scale in SCALES}
    rows = [
        Row(
            f"pubsub publish {topic}",
            "pubsub",
            f"messages published to `{topic}`",
            "msg/s",
            math.inf,
            {scale: per_scale[scale].get(topic, 0.0) for scale in SCALES},
            note="no per-topic limit; counted in the regional throughput below",
        )
        for topic in sorted(per_scale[1])
    ]
    rows.append(
        Row(
            "pubsub regional throughput",
            "pubsub",
            "publish throughput, all topics",
            "MB/s",
            PUBSUB_PUBLISH_MB_PER_SECOND,
            {s: sum(per_scale[s].values()) * PUBSUB_MIN_REQUEST_KB / 1000 for s in SCALES},
            note="each publish request counts at least 1 kB",
        )
    )
    return rows


def _memory_gib(memory: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", memory).groups()  # type: ignore[union-attr]
    return int(number) / (1 if unit == "Gi" else 1024)


def _cloud_run_rows(manifest: Manifest) -> list[Row]:
    rows = [
        Row(
            "cloud run vcpu",
            "cloud run",
            "vCPU of every function at its maximum instances",
            "vCPU",
            RUN_VCPU_QUOTA,
            {
                s: sum(
                    float(e.scaling.cpu) * e.scaling.max_instances * s for e in manifest.functions
                )
                for s in SCALES
            },
            note="regional CPU allocation quota (baseline; request an increase)",
        ),
        Row(
            "cloud run memory",
            "cloud run",
            "memory of every function at its maximum instances",
            "GiB",
            RUN_MEMORY_GIB_QUOTA,
            {
                s: sum(
                    _memory_gib(e.scaling.memory) * e.scaling.max_instances * s
                    for e in manifest.functions
                )
                for s in SCALES
            },
            note="regional memory allocation quota (baseline)",
        ),
    ]
    # Each function's share of its own slots that the load needs (over 1: it saturates and
    # requests queue or are refused). The model-calling entries are the load: 100 % each.
    drivers = {e.name for e in model_entries(manifest)}
    entries = {e.name: e for e in manifest.functions}
    for entry_name in sorted({f.entry for f in flows(manifest)} - drivers):
        scaling = entries[entry_name].scaling
        busy = {
            s: sum(
                rates(manifest, s).get(f.name, 0.0) * f.seconds
                for f in flows(manifest)
                if f.entry == entry_name and f.scenario == "steady"
            )
            / slots(entries[entry_name], s)
            for s in SCALES
        }
        rows.append(
            Row(
                f"cloud run busy {entry_name}",
                "cloud run",
                f"`{entry_name}`: slots the load keeps busy",
                "share",
                1.0,
                busy,
                note=f"{scaling.max_instances} x {scaling.concurrency} slots",
                scales_with_load=False,
            )
        )
    return rows


def _budget_row(manifest: Manifest) -> Row:
    """Each shard holds budget / shards; a shard holding less than one run's reservation
    refuses every run that lands on it."""
    values = {s: TOKENS_PER_DAY_GLOBAL / token_budget_shards(manifest, s) for s in SCALES}
    return Row(
        "budget per shard",
        "budget",
        "daily token budget each meter shard holds",
        "tokens",
        float(RUN_RESERVATION_TOKENS),
        values,
        note=(
            f"CHAT_TOKENS_PER_DAY_GLOBAL {TOKENS_PER_DAY_GLOBAL:,} / shards; one run "
            f"reserves ~{RUN_RESERVATION_TOKENS:,}"
        ),
        lower_is_over=True,
    )


# --- the page ------------------------------------------------------------------------------


def _number(value: float) -> str:
    if math.isinf(value):
        return "-"
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(row: Row, scale: int) -> str:
    text = _number(row.values[scale])
    if row.kind == "cloud run" and row.unit == "share":
        text = f"{row.values[scale] * 100:.0f} %"
    if not row.over(scale):
        return text
    return f"**{text} short**" if row.lower_is_over else f"**{text} over**"


def _table(rows: Iterable[Row], *, limit: bool = True) -> list[str]:
    head = (
        "| what | "
        + " | ".join(f"{s}x" for s in SCALES)
        + (" | limit |" if limit else " |")
        + " note |"
    )
    lines = [head, "|" + "---|" * (len(SCALES) + (3 if limit else 2))]
    for row in rows:
        cells = " | ".join(_cell(row, s) for s in SCALES)
        bound = f" {_number(row.limit)} {row.unit} |" if limit else ""
        lines.append(f"| {row.what} | {cells} |{bound} {row.note} |")
    return lines


def _multiple(value: float | None) -> str:
    return "never" if value is None else f"{value:.3g}x"


def _title(row: Row | None) -> str:
    if row is None:
        return "none"
    reached = row.reached_at()
    at = f" (reached at {_multiple(reached)})" if reached is not None and reached > 0 else ""
    return f"{row.what}{at}"


def render(model: Model) -> str:
    manifest = model.manifest
    steady = [r for r in model.rows if r.scenario == "steady"]
    rates_by_scale = {s: rates(manifest, s) for s in SCALES}
    lines = [
        "# Capacity",
        "",
        "Back to the [README](../README.md). Generated by `make capacity` (`tools/capacity.py`)",
        "from `infra/functions.yaml`, `infra/firestore.tf` and `infra/variables.tf`: do not edit;",
        "`tests/bench/test_capacity_model.py` fails when this page is stale, when the manifest",
        "as committed passes a limit at 1x, and when 10x reaches a Firestore limit not listed",
        "under *Open* below. Raising a `maxInstances` without running `make capacity` is the",
        "production bug this page exists to catch.",
        "",
        "## What each scale reaches first",
        "",
        "A scale multiplies every function's `maxInstances` (and so the load the platform",
        "accepts). Keyed documents (one guest, one address, one answer) do not grow with it.",
        "",
        "| scale | first limit reached | every row over its limit |",
        "|---|---|---|",
    ]
    for scale in SCALES:
        over = [r for r in model.over(scale) if r.kind != "keyed document"]
        listed = "; ".join(r.what for r in over) or "none"
        lines.append(f"| {scale}x | {_title(model.first_limit(scale))} | {listed} |")
    lines += [
        "",
        "## The load",
        "",
        f"Entry points that call the model run at their maximum, each run holding its slot "
        f"{MODEL_RUN_SECONDS:g} s (a planning figure: shorter answers raise every chat-driven "
        "rate in proportion). The rest follows chat by the mix per chat message "
        + ", ".join(f"{name} {ratio:g}" for name, ratio in MIX.items())
        + f"; GitHub deliveries {GITHUB_DELIVERIES_PER_SECOND:g}/s at 1x; an Idempotency-Key on "
        f"{IDEMPOTENT_SHARE:.0%} of sends; other HTTP requests hold a slot {REQUEST_SECONDS:g} s, "
        f"a Pub/Sub push {EVENT_SECONDS:g} s.",
        "",
        "| flow | entry | slot s | " + " | ".join(f"{s}x /s" for s in SCALES) + " |",
        "|---|---|---|" + "---|" * len(SCALES),
    ]
    for flow in flows(manifest):
        if flow.scenario != "steady":
            continue
        cells = " | ".join(_number(rates_by_scale[s].get(flow.name, 0.0)) for s in SCALES)
        lines.append(f"| {flow.name} | `{flow.entry}` | {flow.seconds:g} | {cells} |")
    lines += [
        "",
        "## Firestore: documents every request may write",
        "",
        f"About {DOCUMENT_WRITES_PER_SECOND:g} sustained write/s per document.",
        "",
        *_table(r for r in steady if r.kind == "document"),
        "",
        "## Firestore: rising indexed fields",
        "",
        f"About {SEQUENTIAL_INDEX_WRITES_PER_SECOND:g} writes/s to a collection whose indexed "
        "field rises with time (a timestamp), counted over every write that sets it and every",
        "delete that removes it; a composite index whose leading fields take few values (such as",
        "`status`) is one range per value. Subcollections (messages, stat shards) index per",
        "parent document and are not listed. Fields exempted from indexing in",
        "`infra/firestore.tf` (`firestore_index_exemptions`, TTL fields in",
        "all but `firestore_ttl_fields_indexed`) are shown with their rate and cannot be hot.",
        "",
        *_table(r for r in steady if r.kind == "index"),
        "",
        "## Firestore: keyed documents",
        "",
        "Written for one key only, at the rate that key's limits admit, whatever the scale. A",
        "keyed document past 1 write/s slows that key's own requests (its guest, or the",
        "guests behind one address), never the deployment's; refused requests write too (a",
        "take and its give-back), so a client hammering past its limits heats only its own",
        "documents until Cloud Armor bans it.",
        "",
        *_table((r for r in model.rows if r.kind == "keyed document"), limit=True),
        "",
        "## Pub/Sub",
        "",
        *_table(r for r in steady if r.kind == "pubsub"),
        "",
        "## Cloud Run",
        "",
        "Quotas are the baseline of a new project; a function's busy share is the part of its",
        "slots (`maxInstances x concurrency`) the load keeps busy, the same at every scale because",
        "the load and the slots grow together. The model-calling entries are the load (100 %).",
        "",
        *_table(r for r in steady if r.kind == "cloud run"),
        "",
        "## The deployment's token budget",
        "",
        "The daily budget is spread over `CHAT_TOKEN_BUDGET_SHARDS` documents, each holding its",
        "share; a run takes its reservation from one shard picked at random. Terraform derives the",
        "shard count from the manifest (`modules/runtime_config`, `token_budget_shards`: model",
        f"slots / {MODEL_RUN_SECONDS:g} s x 2 writes), so each shard takes at most about one write",
        f"a second: {token_budget_shards(manifest)} shards at 1x. A shard holding less than one",
        "run's reservation refuses every run that lands on it, so a scaled manifest needs a",
        "larger `CHAT_TOKENS_PER_DAY_GLOBAL` (or budget leases per instance) along with it.",
        "",
        *_table(r for r in model.rows if r.kind == "budget"),
        "",
        "## An incident storm: the model provider is down",
        "",
        "Every chat run fails. Each failure counts in its agent's window; past",
        f"ALERT_CHAT_FAILURE_THRESHOLD ({ALERT_CHAT_FAILURE_THRESHOLD}) it is an alert, and each",
        "agent's first alert joins the one group of its alertname. Not gated by the tests: it",
        "lasts until the agents that chat have each crossed the threshold once; Pub/Sub retries",
        "what contention aborts, with backoff, and grouping keeps Slack to one message per window.",
        "",
        *_table(r for r in model.rows if r.scenario == "outage"),
        "",
        "## Open: limits whose fix is outside infra/",
        "",
    ]
    for key, fix in OPEN.items():
        row = model.row(key)
        reached = row.reached_at()
        lines.append(f"- **{row.what}** (reached at {_multiple(reached)}): {fix}")
    lines += [
        "",
        "## Sources of the limits",
        "",
        "- Firestore: about 1 sustained write/s per document; about 500 writes/s to a collection",
        "  with a sequentially increasing indexed field unless it is exempted",
        "  (https://cloud.google.com/firestore/docs/best-practices); a sharded counter needs as",
        "  many shards as writes/s (https://firebase.google.com/docs/firestore/solutions/counters).",
        "  A TTL field may be exempted from indexing and still expire documents.",
        f"- Cloud Run: baseline regional quotas {RUN_VCPU_QUOTA:,.0f} vCPU and "
        f"{RUN_MEMORY_GIB_QUOTA:,.0f} GiB",
        "  (https://cloud.google.com/run/docs/configuring/max-instances-limits); the project's own",
        "  figures are on the console's quotas page.",
        f"- Pub/Sub: publisher throughput {PUBSUB_PUBLISH_MB_PER_SECOND:g} MB/s per large region",
        "  (europe-west1), each request counted as at least 1 kB",
        "  (https://cloud.google.com/pubsub/quotas).",
        "",
    ]
    return "\n".join(lines)


def summary(model: Model) -> str:
    """What `make capacity` prints: the first limit per scale and every row over one."""
    lines = []
    for scale in SCALES:
        first = model.first_limit(scale)
        lines.append(f"{scale:>4}x  first limit: {_title(first)}")
        for row in model.over(scale):
            if row.kind == "keyed document":
                continue
            sign = "<" if row.lower_is_over else ">"
            lines.append(
                f"        over: {row.what}: {_number(row.values[scale])} {row.unit} "
                f"{sign} {_number(row.limit)}"
            )
    keyed = [r for r in model.rows if r.kind == "keyed document" and r.over(1)]
    for row in keyed:
        lines.append(
            f"   keyed over (self-limited): {row.what}: {_number(row.values[1])} {row.unit}"
        )
    lines.append(f"   token budget shards at 1x: {token_budget_shards(model.manifest)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/capacity.md is stale")
    parser.add_argument(
        "--manifest", type=Path, default=None, help="another manifest file (default: the repo's)"
    )
    args = parser.parse_args(argv)
    model = build(load(args.manifest) if args.manifest else None)
    page = render(model)
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != page:
            print("docs/capacity.md is stale: run `make capacity`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page)
    print(summary(model))
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
