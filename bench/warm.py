"""Warm latency (one client, sequential) and throughput (8 clients, fixed time) of the main
routes on one instance: the platform's functions, a bare functions-framework function and
a FastAPI peer, against the same emulator in the same run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.procs import Client, Server, summary

CLIENTS = 8
AGENT_BODY = {"name": "bench agent", "systemPrompt": "You are brief.", "model": "offline"}
ROUTE_BODY = {"message": "How do I deploy this service with Terraform?"}


@dataclass(frozen=True)
class RouteSpec:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    expect: int
    prefix: str  # the manifest prefix whose function serves it
    authed: bool = True


ROUTES = (
    RouteSpec("POST /v1/sessions", "POST", "/v1/sessions", None, 201, "/v1/sessions", False),
    RouteSpec("GET /v1/sessions/current", "GET", "/v1/sessions/current", None, 200, "/v1/sessions"),
    RouteSpec("GET /v1/agents", "GET", "/v1/agents?limit=20", None, 200, "/v1/agents"),
    RouteSpec("POST /v1/agents", "POST", "/v1/agents", AGENT_BODY, 201, "/v1/agents"),
    RouteSpec(
        "POST /v1/personas/route", "POST", "/v1/personas/route", ROUTE_BODY, 200, "/v1/personas"
    ),
)


def _headers(route: RouteSpec, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if route.authed else {}


def latency(
    servers: dict[str, Server], route: RouteSpec, token: str, samples: int, warmup: int = 10
) -> dict[str, dict[str, Any]]:
    """Sequential requests, one keep-alive connection per server, the servers taking turns
    request by request (so drift on a shared machine hits all of them alike); ms."""
    clients = {kind: Client(server.port) for kind, server in servers.items()}
    times: dict[str, list[float]] = {kind: [] for kind in servers}
    failures = dict.fromkeys(servers, 0)
    last: dict[str, str] = {}
    try:
        for index in range(warmup + samples):
            for kind, client in clients.items():
                started = time.perf_counter()
                answer = client.request(
                    route.method, route.path, route.body, _headers(route, token)
                )
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status != route.expect:
                    failures[kind] += 1
                    last[kind] = f"{answer.status} {answer.body[:200]!r}"
                elif index >= warmup:
                    times[kind].append(elapsed)
    finally:
        for client in clients.values():
            client.close()
    results = {}
    for kind in servers:
        results[kind] = summary(times[kind])
        results[kind]["failures"] = failures[kind]
        if kind in last:
            results[kind]["lastFailure"] = last[kind]
    return results


def throughput(
    server: Server, route: RouteSpec, tokens: list[str], seconds: float
) -> dict[str, Any]:
    """CLIENTS threads, each on its own connection and session, for a fixed time."""
    counts = [0] * len(tokens)
    failures = [0] * len(tokens)
    start = threading.Barrier(len(tokens) + 1)
    stop_at = [0.0]

    def work(index: int) -> None:
        client = Client(server.port)
        headers = _headers(route, tokens[index])
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                try:
                    answer = client.request(route.method, route.path, route.body, headers)
                except OSError:
                    failures[index] += 1
                    continue
                if answer.status == route.expect:
                    counts[index] += 1
                else:
                    failures[index] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "rps": round(sum(counts) / elapsed, 1),
        "requests": sum(counts),
        "failures": sum(failures),
        "seconds": round(elapsed, 2),
    }


def compare(
    servers: dict[str, Callable[[RouteSpec], Server | None]],
    routes: tuple[RouteSpec, ...],
    tokens: list[str],
    samples: int,
    seconds: float,
) -> list[dict[str, Any]]:
    """Every route on every server; a missing platform function is noted, not fatal."""
    rows = []
    for turn, route in enumerate(routes):
        row: dict[str, Any] = {"route": route.name}
        present: dict[str, Server] = {}
        for kind, server_for in servers.items():
            server = server_for(route)
            if server is None:
                row[kind] = {"skipped": f"no function serves {route.prefix} yet"}
            else:
                present[kind] = server
        try:
            measured = latency(present, route, tokens[0], samples)
        except OSError as exc:
            rows.append({"route": route.name, "skipped": f"{type(exc).__name__}: {exc}"})
            continue
        for kind, figures in measured.items():
            row[kind] = {"latencyMs": figures}
        # Throughput windows run one server at a time, starting with a different one per route.
        kinds = list(present)
        for kind in kinds[turn % len(kinds) :] + kinds[: turn % len(kinds)]:
            # A short warm-up at full concurrency opens every thread's connection.
            throughput(present[kind], route, tokens[1 : CLIENTS + 1], min(0.5, seconds))
            row[kind]["throughput"] = throughput(
                present[kind], route, tokens[1 : CLIENTS + 1], seconds
            )
        rows.append(row)
    return rows
