"""Cold start (process start to first successful answer) and import time, per manifest
entry point, each beside a bare functions-framework function doing the same first work.

The bare twin is `bench/baselines/bare_replay.py` given the Firestore and Pub/Sub calls the
entry's first answer made, recorded in one counted start of the entry before the samples
(`bench/opcount.py`); the console, which serves files, is compared with a bare page.
Samples of an entry and its bare twin alternate, so drift on a shared machine hits both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import opcount
from bench.procs import (
    Server,
    entry_server,
    function_server,
    once,
    ratio,
    summary,
    wait_for_answer,
)
from infra.manifest import ROOT, Entry

BARE_HTTP = ROOT / "bench" / "baselines" / "bare_http.py"  # the warm section's bare routes
BARE_REPLAY = ROOT / "bench" / "baselines" / "bare_replay.py"
BARE_PAGE = ROOT / "bench" / "baselines" / "bare_page.py"
REPLAY_TOPIC = "bare-replay"


@dataclass
class Context:
    """What probes need: a live guest token, the operator token, the webhook secret."""

    env: dict[str, str]
    guest_token: str
    admin_token: str
    webhook_secret: str
    project: str
    agent_id: str = "agt_missing"


@dataclass
class Probe:
    what: str
    check: Callable[[int], bool]
    # Why no bare function can do this entry's first work ("" = it can): the goal is not
    # applied to it (chat starts the model client; MCP loads its protocol SDK).
    not_comparable: str = ""
    serves_page: bool = False  # compared with a bare page, not a replay of its calls
    # Computation of the first answer besides its calls ("module:function", argument),
    # done by the bare twin too.
    work: tuple[str, str] | None = None


def _status_is(
    expected: int | tuple[int, ...], method: str, path: str, **kw: Any
) -> Callable[[int], bool]:
    wanted = expected if isinstance(expected, tuple) else (expected,)
    return lambda port: once(port, method, path, **kw).status in wanted


def _serves_page(entry: Entry) -> bool:
    """The console: static files at `/`, compared with a bare page, not a Firestore query."""
    return entry.trigger.http is not None and "/" in entry.trigger.http.paths


def http_probe(entry: Entry, ctx: Context) -> Probe:
    assert entry.trigger.http is not None
    prefixes = entry.trigger.http.paths
    guest = {"Authorization": f"Bearer {ctx.guest_token}"}
    admin = {"Authorization": f"Bearer {ctx.admin_token}"}
    if _serves_page(entry):
        page = _status_is(200, "GET", "/")
        return Probe("GET / (the console page) -> 200", page, serves_page=True)
    if "/v1/sessions" in prefixes:
        return Probe("POST /v1/sessions -> 201", _status_is(201, "POST", "/v1/sessions"))
    if "/v1/agents" in prefixes:
        check = _status_is(200, "GET", "/v1/agents", headers=guest)
        return Probe("GET /v1/agents -> 200", check)
    if "/v1/conversations" in prefixes:
        path = f"/v1/conversations?agentId={ctx.agent_id}"
        check = _status_is(200, "GET", path, headers=guest)
        starts = "starts the model client at start (the goal exempts entries that call the model)"
        return Probe("GET /v1/conversations?agentId= -> 200", check, not_comparable=starts)
    if "/v1/personas" in prefixes:
        message = "How do I deploy this service?"
        body = {"message": message}
        check = _status_is(200, "POST", "/v1/personas/route", body=body, headers=guest)
        routing = ("shared.personas.routing:route_message", message)
        return Probe("POST /v1/personas/route -> 200", check, work=routing)
    if "/v1/webhooks" in prefixes:
        return Probe("POST /v1/webhooks/github (signed ping) -> 2xx", _webhook_ping(ctx))
    if "/v1/alerts" in prefixes:
        return Probe("GET /v1/alerts -> 200", _status_is(200, "GET", "/v1/alerts", headers=admin))
    if "/v1/loadtests" in prefixes:
        check = _status_is(200, "GET", "/v1/loadtests/runs", headers=admin)
        return Probe("GET /v1/loadtests/runs -> 200", check)
    openapi = _status_is(200, "GET", "/openapi.json")
    if "/mcp" in prefixes:
        sdk = "loads the MCP SDK (the protocol itself, about 0.4 s of imports) at start"
        return Probe("GET /openapi.json -> 200 (no Firestore)", openapi, not_comparable=sdk)
    return Probe("GET /openapi.json -> 200 (no Firestore)", openapi)


def _webhook_ping(ctx: Context) -> Callable[[int], bool]:
    def check(port: int) -> bool:
        raw = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        signature = hmac.new(ctx.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": secrets.token_hex(16),
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        status = once(port, "POST", "/v1/webhooks/github", raw=raw, headers=headers).status
        return 200 <= status < 300

    return check


def _event_for(topic: str) -> dict[str, Any]:
    """A plausible message for the topic (the platform envelope, or a Monitoring incident)."""
    from shared.core.models import utcnow
    from shared.messaging.events import new_event

    if topic == "monitoring-incidents":
        incident = {
            "incident_id": secrets.token_hex(8),
            "state": "open",
            "policy_name": "bench",
            "started_at": int(utcnow().timestamp()),
            "summary": "bench incident",
        }
        return {"version": "1.2", "incident": incident}
    data: dict[str, Any] = {}
    kind = "bench.event"
    if topic.startswith("chat-events"):
        kind = "chat.run.completed"
        data = {
            "agentId": "agt_" + secrets.token_hex(12),
            "userId": "usr_bench",
            "conversationId": "cnv_bench",
            "messageId": "msg_" + secrets.token_hex(8),
            "model": "offline",
            "outcome": "completed",
            "inputTokens": 3,
            "outputTokens": 5,
            "latencyMs": 12.0,
            "finishedAt": utcnow().isoformat(),
        }
    elif topic.startswith("loadtest-results"):
        kind = "loadtest.completed"
        data = {
            "runId": "ltr_bench",
            "scenario": "light",
            "verdict": "pass",
            "regression": False,
            "breaches": [],
            "regressions": [],
            "endpoints": {},
        }
    return new_event(kind, "/bench", "bench", data).model_dump(mode="json")


def pubsub_probe(entry: Entry, ctx: Context) -> Probe:
    assert entry.trigger.pubsub is not None
    topic = entry.trigger.pubsub.topic

    def push(port: int) -> bool:
        import base64

        payload = json.dumps(_event_for(topic)).encode()
        message_id = secrets.token_hex(8)
        body = {
            "message": {
                "data": base64.b64encode(payload).decode(),
                "attributes": {},
                "messageId": message_id,
                "publishTime": "2026-11-22T00:00:00Z",
            },
            "subscription": f"projects/{ctx.project}/subscriptions/bench",
        }
        headers = {
            "ce-id": message_id,
            "ce-specversion": "1.0",
            "ce-source": f"//pubsub.googleapis.com/projects/{ctx.project}/topics/{topic}",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        }
        status = once(
            port, "POST", f"/projects/{ctx.project}/topics/{topic}", body=body, headers=headers
        ).status
        return 200 <= status < 300

    return Probe(f"pushed {topic} CloudEvent -> 2xx", push)


def probe_for(entry: Entry, ctx: Context) -> Probe:
    return http_probe(entry, ctx) if entry.is_http else pubsub_probe(entry, ctx)


def _sample(server: Server, check: Callable[[int], bool]) -> float:
    try:
        return wait_for_answer(server, lambda: check(server.port), timeout=20) * 1000
    finally:
        server.stop()


def first_calls(entry: Entry, ctx: Context, probe: Probe) -> list[list[Any]]:
    """The Firestore and Pub/Sub calls the entry's first answer makes (a counted start)."""
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as directory:
        server = entry_server(entry, opcount.counted_env(ctx.env, Path(directory)))
        try:
            wait_for_answer(server, lambda: probe.check(server.port), timeout=20)
            opcount.settled(Path(directory))  # until the worker has written its calls
        finally:
            server.stop()
        return opcount.read_calls(Path(directory))


def bare_twin(entry: Entry, ctx: Context, probe: Probe, calls: list[list[Any]]) -> Server:
    if probe.serves_page:
        return function_server(f"bare-{entry.name}", BARE_PAGE, "bare_page", ctx.env)
    replay_env = {
        **ctx.env,
        "BARE_CALLS": json.dumps(calls),
        "BARE_TOPIC": f"projects/{ctx.project}/topics/{REPLAY_TOPIC}",
    }
    if probe.work:
        replay_env["BARE_WORK"], replay_env["BARE_WORK_ARGUMENT"] = probe.work
    return function_server(
        f"bare-{entry.name}",
        BARE_REPLAY,
        "bare_replay_http" if entry.is_http else "bare_replay_event",
        replay_env,
        signature="http" if entry.is_http else "cloudevent",
        threads=entry.scaling.concurrency,
    )


def _bare_check(entry: Entry, probe: Probe) -> Callable[[int], bool]:
    if probe.serves_page or not entry.is_http:
        return probe.check  # the same page request, or the same pushed CloudEvent
    return lambda port: 200 <= once(port, "GET", "/").status < 300


def seed_replay() -> None:
    """The documents the replayed gets and queries read (`bench.run` makes its topic)."""
    from bench.baselines import bare_replay
    from shared.gcp import clients

    db = clients.firestore()
    batch = db.batch()
    for index in range(bare_replay.SEED_COUNT):
        ref = db.collection(bare_replay.SEEDED).document(f"d{index}")
        batch.set(ref, {"n": index, "text": "x" * 200})
    batch.commit()


def cold_starts(entries: list[Entry], ctx: Context, samples: int) -> list[dict[str, Any]]:
    seed_replay()
    probes = {entry.name: probe_for(entry, ctx) for entry in entries}
    platform: dict[str, list[float]] = {entry.name: [] for entry in entries}
    bare: dict[str, list[float]] = {entry.name: [] for entry in entries}
    errors: dict[str, str] = {}
    calls: dict[str, list[list[Any]]] = {}
    for entry in entries:
        try:
            calls[entry.name] = first_calls(entry, ctx, probes[entry.name])
        except RuntimeError as exc:
            errors[entry.name] = str(exc)
    for _ in range(samples):
        for entry in entries:
            if entry.name in errors:
                continue
            probe = probes[entry.name]
            try:
                platform[entry.name].append(_sample(entry_server(entry, ctx.env), probe.check))
                twin = bare_twin(entry, ctx, probe, calls[entry.name])
                bare[entry.name].append(_sample(twin, _bare_check(entry, probe)))
            except RuntimeError as exc:
                errors[entry.name] = str(exc)
    rows = []
    for entry in entries:
        probe = probes[entry.name]
        mine, floor = summary(platform[entry.name], 0), summary(bare[entry.name], 0)
        row: dict[str, Any] = {
            "entry": entry.name,
            "probe": probe.what,
            "bare": "bare_page" if probe.serves_page else "bare_replay",
            "firstCalls": calls.get(entry.name, []),
            "firstWork": probe.work[0] if probe.work else None,
            "notComparable": probe.not_comparable,
            "platformMs": mine,
            "bareMs": floor,
            "ratio": ratio(mine["median"], floor["median"]),
        }
        if entry.name in errors:
            row["skipped"] = errors[entry.name]
        rows.append(row)
    return rows


_IMPORT_SNIPPET = """
import importlib.util, sys, time
path = sys.argv[1]
started = time.perf_counter()
sys.path.insert(0, path.rsplit("/", 1)[0])
spec = importlib.util.spec_from_file_location("main", path)
module = importlib.util.module_from_spec(spec)
sys.modules["main"] = module
spec.loader.exec_module(module)
print((time.perf_counter() - started) * 1000)
"""


def import_ms(path: Path, env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_SNIPPET, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def heaviest_imports(path: Path, env: dict[str, str], top: int = 4) -> list[str]:
    """The top-level packages that cost the most to import (`python -X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _IMPORT_SNIPPET, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    costs: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if name.startswith(" ") and not name.startswith("  "):  # top level: one space
            package = name.strip().split(".")[0]
            costs[package] = costs.get(package, 0) + int(parts[1])
    ranked = sorted(costs.items(), key=lambda item: item[1], reverse=True)[:top]
    return [f"{name} {micros / 1000:.0f} ms" for name, micros in ranked]


def import_times(entries: list[Entry], env: dict[str, str], samples: int) -> list[dict[str, Any]]:
    rows = []
    bare_replay = [import_ms(BARE_REPLAY, env) for _ in range(samples)]
    serves_page = any(_serves_page(entry) for entry in entries)
    bare_page = [import_ms(BARE_PAGE, env) for _ in range(samples)] if serves_page else []
    for entry in entries:
        try:
            mine = summary([import_ms(entry.main_path, env) for _ in range(samples)], 0)
            heavy = heaviest_imports(entry.main_path, env)
        except subprocess.CalledProcessError as exc:
            rows.append({"entry": entry.name, "skipped": (exc.stderr or "")[-300:]})
            continue
        floor_samples = bare_page if _serves_page(entry) else bare_replay
        floor = summary(floor_samples, 0)
        rows.append(
            {
                "entry": entry.name,
                "platformMs": mine,
                "bareMs": floor,
                "ratio": ratio(mine["median"], floor["median"]),
                "heaviest": heavy,
            }
        )
    return rows
