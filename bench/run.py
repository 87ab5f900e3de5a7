"""`make bench`: every benchmark side by side in one run, on emulators of its own.

Writes bench/results/bench-<time>.json, bench/results/latest.json and the Markdown tables
in bench/results/latest.md. Entry points, routes or the chat fake that do not exist yet
are skipped with a note in the results. Takes 5-10 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import capacity, coldstart, cost, overhead, plots, report, routing, warm
from bench.procs import (
    Client,
    Server,
    bench_env,
    entry_server,
    function_server,
    uvicorn_server,
    wait_for_answer,
)
from infra.local.emulators import Emulators, free_port
from infra.manifest import ROOT, Entry, load
from shared.core import state

RESULTS = ROOT / "bench" / "results"
SECTIONS = ("import", "cold", "warm", "chat", "cost", "capacity", "routing")
SPEND_BOUNDS = (
    "SESSION_CREATE_PER_MINUTE",
    "CHAT_MESSAGES_PER_MINUTE",
    "CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE",
    "CHAT_TOKENS_PER_DAY",
    "CHAT_TOKENS_PER_ADDRESS_PER_DAY",
    "CHAT_TOKENS_PER_DAY_GLOBAL",
    "AGENTS_PER_GUEST",
    "CONVERSATIONS_PER_GUEST",
)
PROJECT = "demo-bench"
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - a local, throwaway operator token
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105
MODEL_FIRST_CHUNK_DELAY = 0.1


def _create_topics(topics: list[str]) -> None:
    from google.api_core.exceptions import AlreadyExists

    from shared.gcp import clients

    for topic in topics:
        for name in (topic, f"{topic}-dead-letter"):
            with contextlib.suppress(AlreadyExists):
                clients.publisher().create_topic(name=clients.topic_path(name))


def _seed_agent(user_id: str, results: dict[str, Any]) -> str:
    """An agent of the probe's user, made by the platform's own code (for chat's probe)."""
    try:
        from shared.agents import store as agents

        return agents.create_agent(user_id, agents.AgentCreate(name="bench", model="offline")).id
    except Exception as exc:  # noqa: BLE001 - the agents module may not exist yet
        results["notes"].append(f"no seed agent for the chat probe: {exc!r}"[:200])
        return "agt_missing"


def _ready(server: Server, path: str = "/openapi.json") -> None:
    wait_for_answer(server, lambda: Client(server.port, 5).request("GET", path).status < 500)


# Equal work: the platform's 5 s session cache off, so it reads the session on every
# request as the bare function and the peer do; then on, as deployed.
WARM_CONFIGURATIONS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("warm", "equal work (SESSION_CACHE_SECONDS=0)", {"SESSION_CACHE_SECONDS": "0"}),
    ("warmDeployed", "deployed (session cache on, 5 s)", {}),
)


def _platform_servers(
    entries: dict[str, Entry], env: dict[str, str]
) -> tuple[dict[str, Server], list[Server]]:
    by_prefix: dict[str, Server] = {}
    servers: list[Server] = []
    for entry in entries.values():
        prefixes = entry.trigger.http.paths if entry.trigger.http else []
        wanted = {route.prefix for route in warm.ROUTES} | {"/v1/conversations"}
        if wanted & set(prefixes):
            server = entry_server(entry, env)
            servers.append(server)
            for prefix in prefixes:
                by_prefix[prefix] = server
    return by_prefix, servers


def _warm_section(
    entries: dict[str, Entry], env: dict[str, str], args: argparse.Namespace, results: dict
) -> None:
    from shared.identity import sessions

    servers: list[Server] = []
    try:
        bare = function_server("bare-routes", coldstart.BARE_HTTP, "bare_routes", env, threads=80)
        peer = uvicorn_server("fastapi-peer", "bench.peers.fastapi_app:app", env)
        servers += [bare, peer]
        for index, (key, label, overrides) in enumerate(WARM_CONFIGURATIONS):
            by_prefix, platform = _platform_servers(entries, {**env, **overrides})
            servers += platform
            for server in servers:
                _ready(server)
            # Fresh users each time: the POST rows add agents of other shapes to theirs.
            users = [sessions.create_session() for _ in range(warm.CLIENTS + 1)]
            tokens = [token for token, _ in users]
            _seed_warm(by_prefix.get("/v1/agents", bare), tokens)
            if index == 0:
                agents = by_prefix.get("/v1/agents")
                # Before the warm POST /v1/agents rows add agents to the first user.
                results["agentsOverQuery"] = (
                    overhead.agents_over_query(
                        agents, tokens[0], users[0][1].user_id, args.warm_samples
                    )
                    if agents
                    else {"skipped": "no agents function yet"}
                )
                sessions_server = by_prefix.get("/v1/sessions")
                results["sessionsOverCreate"] = (
                    overhead.sessions_over_create(sessions_server, args.warm_samples)
                    if sessions_server
                    else {"skipped": "no guest_session function"}
                )
            print(f"warm routes, {label} ...", file=sys.stderr, flush=True)
            results[key] = warm.compare(
                {
                    "platform": _serving(by_prefix),
                    "bare": lambda route: bare,
                    "fastapi": lambda route: peer,
                },
                warm.ROUTES,
                tokens,
                args.warm_samples,
                args.seconds,
            )
            for server in platform:
                server.stop()
                servers.remove(server)
    finally:
        for server in servers:
            server.stop()


def _serving(by_prefix: dict[str, Server]) -> Callable[[warm.RouteSpec], Server | None]:
    return lambda route: by_prefix.get(route.prefix)


def _seed_warm(server: Server, tokens: list[str]) -> None:
    """Ten agents per user, made by the platform, so every list returns the same page."""
    for token in tokens:
        for index in range(10):
            body = {**warm.AGENT_BODY, "name": f"seed {index}"}
            Client(server.port).request(
                "POST", "/v1/agents", body, {"Authorization": f"Bearer {token}"}
            )


def _chat_section(
    entries: dict[str, Entry], env: dict[str, str], args: argparse.Namespace, results: dict
) -> None:
    from shared.identity import sessions

    chat, agents = entries.get("chat"), entries.get("agents")
    if not (ROOT / "tests" / "support" / "messages_api.py").exists() or not chat or not agents:
        results["chat"] = {
            "skipped": "needs the chat and agents functions and tests/support/messages_api.py"
        }
        return
    from tests.support.messages_api import FakeMessagesApi

    fake = FakeMessagesApi(first_chunk_delay=MODEL_FIRST_CHUNK_DELAY).start()
    model_env = {**env, "ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.url}
    servers = [entry_server(chat, model_env), entry_server(agents, env)]
    try:
        for server in servers:
            _ready(server)
        token, _ = sessions.create_session()
        results["chat"] = overhead.chat_first_byte(
            servers[0],
            servers[1],
            token,
            samples=args.chat_samples,
            delay_ms=MODEL_FIRST_CHUNK_DELAY * 1000,
            model_url=fake.url,
        )
    except (OSError, RuntimeError) as exc:
        results["chat"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    finally:
        for server in servers:
            server.stop()
        fake.stop()


def _cost_section(
    entries: dict[str, Entry], env: dict[str, str], args: argparse.Namespace, results: dict
) -> None:
    """Operations, CPU and dollars per request, counted inside each server, and their growth."""
    import tempfile

    needed = ("guest-session", "agents")
    if any(name not in entries for name in needed):
        results["cost"] = {"skipped": "needs the guest-session and agents functions"}
        return
    fake = None
    if (ROOT / "tests" / "support" / "messages_api.py").exists() and "chat" in entries:
        from tests.support.messages_api import FakeMessagesApi

        fake = FakeMessagesApi(first_chunk_delay=0).start()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-opcount-") as scratch:
        directories: dict[str, Path] = {}

        def counted(name: str, start: Any) -> Server:
            directories[name] = Path(scratch) / name
            server: Server = start(cost.counted_env(env, directories[name]))
            servers.append(server)
            return server

        try:
            sessions_server = counted(
                "guest-session", lambda e: entry_server(entries["guest-session"], e)
            )
            agents_server = counted("agents", lambda e: entry_server(entries["agents"], e))
            chat_server = None
            if fake is not None:
                model_env = {"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.url}
                chat_server = counted(
                    "chat", lambda e: entry_server(entries["chat"], {**e, **model_env})
                )
            peer = counted(
                "fastapi-peer",
                lambda e: uvicorn_server("fastapi-peer", "bench.peers.fastapi_app:app", e),
            )
            for server in servers:
                _ready(server)
            sizes = tuple(int(size) for size in args.growth_sizes.split(",") if size)
            results["cost"] = cost.measure(
                cost.Servers(sessions_server, agents_server, chat_server, peer, directories),
                load(),
                args.cost_requests,
                args.growth_requests,
                sizes,
            )
        except (OSError, RuntimeError) as exc:
            results["cost"] = {"skipped": f"{type(exc).__name__}: {exc}"[:400]}
        finally:
            for server in servers:
                server.stop()
            if fake is not None:
                fake.stop()


def _capacity_section(
    entries: dict[str, Entry], env: dict[str, str], args: argparse.Namespace, results: dict
) -> None:
    """Concurrent streamed answers on one chat instance served as the manifest says."""
    from shared.identity import sessions

    chat, agents = entries.get("chat"), entries.get("agents")
    if not (ROOT / "tests" / "support" / "messages_api.py").exists() or not chat or not agents:
        results["capacity"] = {"skipped": "needs chat, agents and the fake Messages API"}
        return
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fake_model",
            str(capacity.FIRST_TOKEN_DELAY),
            str(capacity.CHUNKS),
            str(capacity.CHUNK_DELAY),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None and fake.stdin is not None
    model_url = fake.stdout.readline().strip()
    model_env = {**env, "ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": model_url}
    servers = [entry_server(chat, model_env), entry_server(agents, env)]
    try:
        for server in servers:
            _ready(server)
        token, _ = sessions.create_session()
        levels = tuple(int(n) for n in args.capacity_levels.split(",") if n)
        results["capacity"] = capacity.measure(
            servers[0], servers[1], token, levels, scaling=chat.scaling
        )
    except (OSError, RuntimeError) as exc:
        results["capacity"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    finally:
        for server in servers:
            server.stop()
        fake.stdin.close()
        fake.wait(timeout=10)


def _selected(entries: list[Entry], names: str) -> list[Entry]:
    """The entries that exist, limited to `names` (a comma list) when given."""
    wanted = {name for name in names.split(",") if name}
    return [e for e in entries if e.main_path.exists() and (not wanted or e.name in wanted)]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmarks, side by side in one run.")
    parser.add_argument("--cold-samples", type=int, default=5)
    parser.add_argument("--import-samples", type=int, default=5)
    parser.add_argument("--warm-samples", type=int, default=50)
    parser.add_argument("--chat-samples", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=3.0, help="throughput window per cell")
    parser.add_argument("--cost-requests", type=int, default=50, help="requests per cost row")
    parser.add_argument("--growth-requests", type=int, default=10, help="per growth row")
    parser.add_argument("--growth-sizes", default=",".join(map(str, cost.GROWTH_SIZES)))
    parser.add_argument("--capacity-levels", default=",".join(map(str, capacity.LEVELS)))
    parser.add_argument(
        "--only", default="", help="comma list: import,cold,warm,chat,cost,capacity,routing"
    )
    parser.add_argument("--entries", default="", help="comma list of manifest entry names")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # Stopped with SIGTERM, the run still stops the servers and emulators it started (they
    # run in sessions of their own, so nothing else would).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    sections = set(filter(None, args.only.split(","))) or set(SECTIONS)
    began = time.perf_counter()
    emulators = Emulators(free_port(), free_port(), PROJECT).start()
    results: dict[str, Any] = {
        "notes": [],
        "importTime": [],
        "coldStart": [],
        "warm": [],
        "warmDeployed": [],
    }
    for section in ("chat", "agentsOverQuery", "sessionsOverCreate", "cost", "capacity", "routing"):
        results[section] = {"skipped": "not run"}
    try:
        os.environ.update({**emulators.env, **dict.fromkeys(SPEND_BOUNDS, "0")})

        state.reset()
        manifest = load()
        _create_topics([*manifest.topics(), coldstart.REPLAY_TOPIC])
        present = _selected(manifest.functions, args.entries)
        for entry in manifest.functions:
            if not entry.main_path.exists():
                results["notes"].append(f"{entry.name}: {entry.main_path} missing; skipped")
        env = bench_env(
            {
                **emulators.env,
                "ENVIRONMENT": "local",
                "ADMIN_TOKEN": ADMIN_TOKEN,
                "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
                # The spend bounds would turn a benchmark into a 429 test; off (0), the
                # windowed meters cost nothing and the per-guest caps still count.
                **dict.fromkeys(SPEND_BOUNDS, "0"),
                # Alert grouping waits this long on purpose before notifying; a cold-start
                # figure should measure the start, not the group wait.
                "ALERT_GROUP_WAIT_SECONDS": "0",
                # As deployed: Cloud Run logs requests, so the functions do not (infra/main.tf).
                "ACCESS_LOG": "false",
            }
        )
        from shared.identity import sessions

        guest_token, guest = sessions.create_session()
        context = coldstart.Context(env, guest_token, ADMIN_TOKEN, WEBHOOK_SECRET, PROJECT)
        context.agent_id = _seed_agent(guest.user_id, results)
        if "import" in sections:
            print("import times ...", file=sys.stderr, flush=True)
            results["importTime"] = coldstart.import_times(present, env, args.import_samples)
        if "cold" in sections:
            print("cold starts ...", file=sys.stderr, flush=True)
            results["coldStart"] = coldstart.cold_starts(present, context, args.cold_samples)
        named = {entry.name: entry for entry in present if entry.is_http}
        if "warm" in sections:
            print("warm routes ...", file=sys.stderr, flush=True)
            _warm_section(named, env, args, results)
        if "chat" in sections:
            print("chat ...", file=sys.stderr, flush=True)
            _chat_section(named, env, args, results)
        if "cost" in sections:
            print("cost per route ...", file=sys.stderr, flush=True)
            _cost_section(named, env, args, results)
        if "capacity" in sections:
            print("chat capacity ...", file=sys.stderr, flush=True)
            _capacity_section(named, env, args, results)
        if "routing" in sections:
            print("persona routing of long messages ...", file=sys.stderr, flush=True)
            results["routing"] = routing.measure()
    finally:
        emulators.stop()
    results["notes"] += [
        "Equal work: the first warm tables run the platform with SESSION_CACHE_SECONDS=0, so "
        "it reads the session document on every request as the bare function and the FastAPI "
        "peer do; the deployed tables keep its 5 s cache of a verified session.",
        "ALERT_GROUP_WAIT_SECONDS=0 (the 5 s group wait is a feature, not a start cost); "
        "ACCESS_LOG=false, as deployed (Cloud Run logs each request itself). "
        f"Spend bounds off for the run (= 0): {', '.join(SPEND_BOUNDS)}. "
        f"LOG_LEVEL as in the caller's env ({os.environ.get('LOG_LEVEL', 'INFO')}).",
    ]
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["meta"] = {
        "finishedAt": finished,
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}",
        "totalSeconds": round(time.perf_counter() - began, 1),
        "coldSamples": args.cold_samples,
        "importSamples": args.import_samples,
        "warmSamples": args.warm_samples,
        "throughputSeconds": args.seconds,
        "sections": sorted(sections),
    }
    _write(results, finished)
    return 0


def _write(results: dict[str, Any], finished: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results["plots"] = plots.write(results, RESULTS)
    document = json.dumps(results, indent=2, default=str)
    stamp = finished.replace(":", "").replace("-", "")
    (RESULTS / f"bench-{stamp}.json").write_text(document)
    (RESULTS / "latest.json").write_text(document)
    table = report.markdown(results)
    Path(RESULTS / "latest.md").write_text(table)
    sys.stdout.write(table)


if __name__ == "__main__":
    sys.exit(main())
