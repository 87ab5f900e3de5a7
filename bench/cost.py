"""Cost per route, measured: the billable operations each request makes (counted inside the
servers by bench/opcount.py) and the CPU they spend, turned into dollars per million
requests with the published list prices below; and how that changes with a guest's data.

The prices are list prices of 2026-12-01, checked that day against the published
pricing pages named below (Cloud Run Tier 1 with request-based billing; Firestore's
regional price row for Oregon, us-west1; Pub/Sub throughput). Other regions and
locations differ (Firestore multi-region costs twice as much; some regional locations
cost about 20 % more), so the figures are for Tier 1 regional deployments. The bench
itself makes no network calls outside this machine: check the pages before quoting.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import opcount
from bench.procs import Client, Server
from infra.manifest import Entry, Manifest

PRICES_AS_OF = "2026-12-01"
# https://cloud.google.com/run/pricing: Tier 1, request-based billing (CPU only while serving).
CLOUD_RUN_VCPU_SECOND = 0.000024
CLOUD_RUN_GIB_SECOND = 0.0000025
CLOUD_RUN_REQUEST = 0.40 / 1_000_000
# https://cloud.google.com/firestore/pricing: Native mode, regional location (us-west1), per
# document.
FIRESTORE_READ = 0.03 / 100_000
FIRESTORE_WRITE = 0.09 / 100_000
FIRESTORE_DELETE = 0.01 / 100_000
# https://cloud.google.com/pubsub/pricing: $40 per TiB of publish and of subscribe
# throughput, each message billed at least 1,000 bytes.
PUBSUB_TIB = 40.0
PUBSUB_MIN_BYTES = 1000
PRICE_SOURCES = (
    "https://cloud.google.com/run/pricing",
    "https://cloud.google.com/firestore/pricing",
    "https://cloud.google.com/pubsub/pricing",
)
GROWTH_SIZES = (10, 100, 1000, 10000)
# A day of a small deployment: 100 guests, 2,000 chat messages.
CONVERSATION_CAP = 1000
DAILY_MIX = {
    "POST /v1/sessions": 100,
    "GET /v1/sessions/current": 1000,
    "GET /v1/agents": 1000,
    "POST /v1/agents": 200,
    "GET /v1/dashboard/stats": 500,
    "GET .../messages (history)": 1000,
    "POST .../messages (chat message)": 2000,
}


def daily(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """DAILY_MIX priced with the measured rows: $ per day by route and in all."""
    by_route = {row["route"]: row["dollarsPerMillion"]["total"] for row in rows}
    lines = {
        route: round(count * by_route[route] / 1_000_000, 6)
        for route, count in DAILY_MIX.items()
        if route in by_route
    }
    total = round(sum(lines.values()), 4)
    return {"mix": DAILY_MIX, "dollarsByRoute": lines, "dollarsPerDay": total}


def gib(memory: str) -> float:
    """A Kubernetes-style size ('512Mi', '1Gi') in GiB."""
    units = {"Mi": 1 / 1024, "Gi": 1.0, "M": 1e6 / 2**30, "G": 1e9 / 2**30}
    for suffix, factor in units.items():
        if memory.endswith(suffix):
            return float(memory.removesuffix(suffix)) * factor
    return float(memory) / 2**30


def subscribers(manifest: Manifest) -> dict[str, int]:
    """How many push subscriptions (so deliveries) each topic has."""
    counted: dict[str, int] = {}
    for entry in manifest.pubsub_entries():
        topic = entry.trigger.pubsub.topic if entry.trigger.pubsub else ""
        counted[topic] = counted.get(topic, 0) + 1
    return counted


def delivered(per_request: dict[str, float], fan_out: dict[str, int]) -> float:
    return sum(
        count * fan_out.get(name.removeprefix("published:"), 0)
        for name, count in per_request.items()
        if name.startswith("published:")
    )


def dollars_per_million(per_request: dict[str, float], entry: Entry | None) -> dict[str, float]:
    """$ per 1 M requests by service. Cloud Run time is the CPU time spent, as on an
    instance kept busy (the floor of request-based billing); memory for that time."""
    vcpus = float(entry.scaling.cpu) if entry else 1.0
    memory = gib(entry.scaling.memory) if entry else 0.5
    instance_seconds = per_request["cpuSeconds"] / vcpus
    run = (
        instance_seconds * (vcpus * CLOUD_RUN_VCPU_SECOND + memory * CLOUD_RUN_GIB_SECOND)
        + CLOUD_RUN_REQUEST
    )
    firestore = (
        per_request["reads"] * FIRESTORE_READ
        + per_request["writes"] * FIRESTORE_WRITE
        + per_request["deletes"] * FIRESTORE_DELETE
    )
    messages = per_request["published"] + per_request.get("delivered", 0)
    published = per_request["published"]
    average = per_request["publishedBytes"] / published if published else 0
    pubsub = messages * max(average, PUBSUB_MIN_BYTES) / 2**40 * PUBSUB_TIB
    million = 1_000_000
    return {
        "cloudRun": round(run * million, 3),
        "firestore": round(firestore * million, 3),
        "pubsub": round(pubsub * million, 3),
        "total": round((run + firestore + pubsub) * million, 3),
    }


@dataclass
class Probe:
    """One route on one counted server: `send` makes one request and checks its answer."""

    route: str
    server: Server
    directory: Path
    send: Callable[[], None]


def per_request(probe: Probe, requests: int) -> dict[str, float]:
    """The counters' change over `requests` requests, divided by them."""
    before = opcount.settled(probe.directory)
    started = time.perf_counter()
    for _ in range(requests):
        probe.send()
    elapsed = time.perf_counter() - started
    after = opcount.settled(probe.directory)
    names = set(before) | set(after)
    counted = {
        name: round((after.get(name, 0) - before.get(name, 0)) / requests, 6)
        for name in sorted(names)
    }
    counted["seconds:client"] = round(elapsed / requests, 6)
    return counted


def phases(per: dict[str, float]) -> dict[str, float]:
    """Where a request's time goes, ms (means): the client's wall time split into the HTTP
    server and framework (everything outside the `Api` edge), Firestore, request validation,
    the JSON answer and the rest of the edge (handler code, auth, headers). For a server
    without the `Api` edge (the peer) everything but Firestore is `framework`."""
    ms = {
        name.removeprefix("seconds:"): value * 1000
        for name, value in per.items()
        if name.startswith("seconds:")
    }
    client = ms.get("client", 0.0)
    firestore = ms.get("firestore", 0.0)
    edge = ms.get("edge")
    if edge is None:
        return {"client": client, "framework": client - firestore, "firestore": firestore}
    validation, json_ms = ms.get("validation", 0.0), ms.get("json", 0.0)
    return {
        "client": client,
        "framework": client - edge,
        "firestore": firestore,
        "validation": validation,
        "json": json_ms,
        "other": edge - firestore - validation - json_ms,
    }


def sender(
    server: Server, method: str, path: str, expect: int, token: str, *, body: Any = None
) -> Callable[[], None]:
    client = Client(server.port)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def send() -> None:
        answer = client.request(method, path, body, headers)
        if answer.status != expect:
            raise RuntimeError(f"{method} {path} answered {answer.status}: {answer.body[:200]!r}")

    return send


def row(
    probe: Probe, requests: int, entry: Entry | None, fan_out: dict[str, int]
) -> dict[str, Any]:
    counted = per_request(probe, requests)
    counted["delivered"] = round(delivered(counted, fan_out), 6)
    return {
        "route": probe.route,
        "server": probe.server.name,
        "requests": requests,
        "perRequest": counted,
        "phasesMs": {name: round(value, 3) for name, value in phases(counted).items()},
        "dollarsPerMillion": dollars_per_million(counted, entry),
    }


def seed_agents(user_id: str, template: dict[str, Any], count: int) -> None:
    """`count` agents of the user shaped like `template` (one the platform made), written in
    batches straight into the emulator; each newer than the last."""
    from shared.gcp import clients

    db = clients.firestore()
    start = datetime.now(UTC) - timedelta(days=1)
    batch = db.batch()
    for index in range(count):
        created = start + timedelta(milliseconds=index)
        record = {**template, "userId": user_id, "createdAt": created, "updatedAt": created}
        batch.set(db.collection("agents").document("agt_" + secrets.token_hex(12)), record)
        if (index + 1) % 400 == 0:
            batch.commit()
            batch = db.batch()
    batch.commit()


def seed_messages(conversation_id: str, pair: list[dict[str, Any]], count: int) -> None:
    """`count` more messages after the conversation's own, shaped like `pair` (a question
    and its answer the platform made), with the conversation's message count kept right."""
    from shared.gcp import clients

    db = clients.firestore()
    conversation = db.collection("conversations").document(conversation_id)
    existing = len(pair)
    batch = db.batch()
    for index in range(count):
        seq = existing + index
        record = {**pair[seq % 2], "seq": seq}
        batch.set(
            conversation.collection("messages").document("msg_" + secrets.token_hex(12)), record
        )
        if (index + 1) % 400 == 0:
            batch.commit()
            batch = db.batch()
    batch.update(conversation, {"messageCount": existing + count})
    batch.commit()


def counted_env(env: dict[str, str], directory: Path) -> dict[str, str]:
    """The server's environment with the operation counting and the edge's phases on (and
    the session cache off, so every route pays for its session read as the peer does)."""
    return opcount.counted_env({**env, "SESSION_CACHE_SECONDS": "0"}, directory, phases=True)


def _document(path: str) -> dict[str, Any]:
    from shared.gcp import clients

    return clients.firestore().document(path).get().to_dict() or {}


def _messages(conversation_id: str) -> list[dict[str, Any]]:
    from shared.gcp import clients

    messages = clients.firestore().collection(f"conversations/{conversation_id}/messages")
    return [s.to_dict() or {} for s in messages.order_by("seq").stream()]


@dataclass
class Servers:
    sessions: Server
    agents: Server
    chat: Server | None
    peer: Server
    directories: dict[str, Path]

    def probe(self, route: str, server: Server, send: Callable[[], None]) -> Probe:
        return Probe(route, server, self.directories[server.name], send)


def measure(
    servers: Servers,
    manifest: Manifest,
    requests: int,
    growth_requests: int,
    sizes: tuple[int, ...],
) -> dict[str, Any]:
    """Per route, the platform's operations and dollars (and the peer's where it has the
    route); then the growth rows: the same routes with `sizes` documents per guest."""
    from shared.identity import sessions

    entries = {entry.name: entry for entry in manifest.functions}
    fan_out = subscribers(manifest)
    agent_body = {"name": "bench agent", "systemPrompt": "You are brief.", "model": "offline"}
    token, _ = sessions.create_session()
    for index in range(10):
        sender(
            servers.agents,
            "POST",
            "/v1/agents",
            201,
            token,
            body={**agent_body, "name": f"s{index}"},
        )()
    peer_token, _ = sessions.create_session()
    for index in range(10):
        sender(
            servers.peer,
            "POST",
            "/v1/agents",
            201,
            peer_token,
            body={**agent_body, "name": f"s{index}"},
        )()
    platform = [
        ("POST /v1/sessions", servers.sessions, "guest-session", "POST", "/v1/sessions", 201, None),
        (
            "GET /v1/sessions/current",
            servers.sessions,
            "guest-session",
            "GET",
            "/v1/sessions/current",
            200,
            None,
        ),
        ("GET /v1/agents", servers.agents, "agents", "GET", "/v1/agents?limit=20", 200, None),
        ("POST /v1/agents", servers.agents, "agents", "POST", "/v1/agents", 201, agent_body),
        (
            "GET /v1/dashboard/stats",
            servers.agents,
            "agents",
            "GET",
            "/v1/dashboard/stats",
            200,
            None,
        ),
    ]
    rows: list[dict[str, Any]] = []
    for route, server, entry_name, method, path, expect, body in platform:
        auth = "" if route == "POST /v1/sessions" else token
        measured = row(
            servers.probe(route, server, sender(server, method, path, expect, auth, body=body)),
            requests,
            entries.get(entry_name),
            fan_out,
        )
        if route != "GET /v1/dashboard/stats":
            peer_auth = "" if route == "POST /v1/sessions" else peer_token
            peer_probe = servers.probe(
                route,
                servers.peer,
                sender(servers.peer, method, path, expect, peer_auth, body=body),
            )
            measured["peer"] = row(peer_probe, requests, entries.get(entry_name), fan_out)
        rows.append(measured)
    growth: list[dict[str, Any]] = []
    if servers.chat is not None:
        rows += _chat_rows(servers, token, requests, entries, fan_out, size=0)
    for size in sizes:
        growth += _growth_rows(servers, size, growth_requests, entries, fan_out)
    return {
        "pricesAsOf": PRICES_AS_OF,
        "priceSources": list(PRICE_SOURCES),
        "prices": {
            "cloudRunVcpuSecond": CLOUD_RUN_VCPU_SECOND,
            "cloudRunGibSecond": CLOUD_RUN_GIB_SECOND,
            "cloudRunPerMillionRequests": CLOUD_RUN_REQUEST * 1_000_000,
            "firestorePer100kReads": FIRESTORE_READ * 100_000,
            "firestorePer100kWrites": FIRESTORE_WRITE * 100_000,
            "firestorePer100kDeletes": FIRESTORE_DELETE * 100_000,
            "pubsubPerTib": PUBSUB_TIB,
        },
        "requests": requests,
        "rows": rows,
        "daily": daily(rows),
        "growth": growth,
    }


def _conversation(servers: Servers, token: str, agent_id: str) -> str:
    assert servers.chat is not None
    made = Client(servers.chat.port).request(
        "POST", "/v1/conversations", {"agentId": agent_id}, {"Authorization": f"Bearer {token}"}
    )
    if made.status != 201:
        raise RuntimeError(f"POST /v1/conversations answered {made.status}: {made.body[:200]!r}")
    return str(made.json()["id"])


def _chat_rows(
    servers: Servers,
    token: str,
    requests: int,
    entries: dict[str, Entry],
    fan_out: dict[str, int],
    *,
    size: int,
) -> list[dict[str, Any]]:
    """History and a chat message (JSON answer) in a conversation of `size` messages."""
    chat = servers.chat
    assert chat is not None
    agent = Client(servers.agents.port).request(
        "POST",
        "/v1/agents",
        {"name": "chat", "model": "offline"},
        {"Authorization": f"Bearer {token}"},
    )
    conversation_id = _conversation(servers, token, str(agent.json()["id"]))
    path = f"/v1/conversations/{conversation_id}/messages"
    sender(chat, "POST", path, 200, token, body={"content": "Say hello."})()
    # A conversation holds at most CHAT_MAX_MESSAGES_PER_CONVERSATION (1,000) messages; the
    # measured requests add two each.
    held = min(size, CONVERSATION_CAP - 2 * (requests + 2))
    if held > 2:
        seed_messages(conversation_id, _messages(conversation_id), held - 2)
    probes = [
        servers.probe("GET .../messages (history)", chat, sender(chat, "GET", path, 200, token)),
        servers.probe(
            "POST .../messages (chat message)",
            chat,
            sender(chat, "POST", path, 200, token, body={"content": "Say hello."}),
        ),
    ]
    return [row(probe, requests, entries.get("chat"), fan_out) for probe in probes]


def _growth_rows(
    servers: Servers, size: int, requests: int, entries: dict[str, Entry], fan_out: dict[str, int]
) -> list[dict[str, Any]]:
    from shared.identity import sessions

    token, guest = sessions.create_session()
    made = sender(
        servers.agents, "POST", "/v1/agents", 201, token, body={"name": "g", "model": "offline"}
    )
    made()
    from google.cloud.firestore import FieldFilter

    from shared.gcp import clients

    mine = FieldFilter("userId", "==", guest.user_id)
    first = next(clients.firestore().collection("agents").where(filter=mine).stream())
    seed_agents(guest.user_id, first.to_dict() or {}, size - 1)
    agents = servers.agents
    probes = [
        servers.probe(
            "GET /v1/agents", agents, sender(agents, "GET", "/v1/agents?limit=20", 200, token)
        ),
        servers.probe(
            "GET /v1/dashboard/stats",
            agents,
            sender(agents, "GET", "/v1/dashboard/stats", 200, token),
        ),
    ]
    rows = [row(probe, requests, entries.get("agents"), fan_out) for probe in probes]
    if servers.chat is not None:
        rows += _chat_rows(servers, token, requests, entries, fan_out, size=size)
    for measured in rows:
        measured["documents"] = size
        if "messages" in measured["route"]:
            measured["documents"] = min(size, CONVERSATION_CAP - 2 * (requests + 2))
    return rows
