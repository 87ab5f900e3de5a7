"""Per-instance capacity of chat: how many streamed answers one chat instance (gunicorn,
THREADS = the manifest's concurrency) carries at once against a slow model (the fake
Messages API: a long wait for the first token, then a long answer), with its memory and
the first-token latency as the number of open streams grows."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.overhead import CHAT_MODEL, _first_delta
from bench.procs import Client, Server
from infra.manifest import Scaling

LEVELS = (1, 10, 20, 40, 80)
# What the manifest's chat scaling must follow from: the most open streams one instance
# served with none failed and a first token at most this much later than the model's;
# memory at least twice the peak RSS measured, in a Cloud Run size.
FIRST_TOKEN_P95_GOAL_MS = 1000.0
MEMORY_SIZES_MIB = (512, 1024, 2048, 4096, 8192)
FIRST_TOKEN_DELAY = 1.0  # seconds the fake model waits before its first token
CHUNKS = 40
CHUNK_DELAY = 0.05  # so an answer streams for about 2 s after its first token


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn master and worker), MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def percentile(samples: list[float], fraction: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


def _stream(port: int, path: str, token: str) -> tuple[float, float]:
    """One streamed answer: (seconds to the first text delta, seconds to the end)."""
    started = time.perf_counter()
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client,
        client.stream(
            "POST",
            path,
            json={"content": "Tell me a long story."},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        ) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"{response.status_code} {response.text[:200]}")
        chunks = response.iter_raw()
        _, first = _first_delta(chunks, b"event: message.delta", started)
        for _ in chunks:
            pass
    return first, time.perf_counter() - started


def level(chat: Server, agents: Server, token: str, streams: int) -> dict[str, Any]:
    """`streams` answers at once, each in its own conversation; peak RSS while they run."""
    headers = {"Authorization": f"Bearer {token}"}
    agent = Client(agents.port).request(
        "POST", "/v1/agents", {"name": "capacity", "model": CHAT_MODEL}, headers
    )
    paths = []
    for _ in range(streams):
        made = Client(chat.port).request(
            "POST", "/v1/conversations", {"agentId": agent.json()["id"]}, headers
        )
        paths.append(f"/v1/conversations/{made.json()['id']}/messages")
    firsts: list[float] = []
    totals: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(path: str) -> None:
        try:
            first, total = _stream(chat.port, path, token)
        except (OSError, RuntimeError, httpx.HTTPError) as exc:
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with lock:
            firsts.append((first - FIRST_TOKEN_DELAY) * 1000)
            totals.append(total)

    peak = rss_mib(chat.process.pid)
    threads = [threading.Thread(target=run, args=(path,)) for path in paths]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_mib(chat.process.pid))
        time.sleep(0.1)
    return {
        "streams": streams,
        "completed": len(firsts),
        "failures": len(failures),
        "lastFailure": failures[-1] if failures else None,
        "firstTokenAddedMsP50": round(statistics.median(firsts), 1) if firsts else None,
        "firstTokenAddedMsP95": percentile(firsts, 0.95),
        "streamSecondsMax": round(max(totals), 2) if totals else None,
        "wallSeconds": round(time.perf_counter() - began, 2),
        "peakRssMiB": peak,
    }


def recommend(found: dict[str, Any]) -> dict[str, Any]:
    """The chat scaling the measured levels support (see FIRST_TOKEN_P95_GOAL_MS)."""
    rows = found["levels"]
    held = [
        row["streams"]
        for row in rows
        if row["failures"] == 0
        and row["firstTokenAddedMsP95"] is not None
        and row["firstTokenAddedMsP95"] <= FIRST_TOKEN_P95_GOAL_MS
    ]
    peak = max(row["peakRssMiB"] for row in rows)
    memory = next((size for size in MEMORY_SIZES_MIB if size >= 2 * peak), MEMORY_SIZES_MIB[-1])
    return {
        "concurrency": max(held) if held else None,
        "memoryMiB": memory,
        "rule": (
            f"most open streams with none failed and first-token p95 <= "
            f"{FIRST_TOKEN_P95_GOAL_MS:.0f} ms added; memory >= 2 x peak RSS ({peak:.0f} MiB)"
        ),
    }


def measure(
    chat: Server, agents: Server, token: str, levels: tuple[int, ...], *, scaling: Scaling
) -> dict[str, Any]:
    idle = rss_mib(chat.process.pid)
    level(chat, agents, token, 2)  # the first answers pay for the model client's start
    rows = [level(chat, agents, token, streams) for streams in levels]
    found = {
        "threads": scaling.concurrency,
        "memory": scaling.memory,
        "firstTokenDelayMs": FIRST_TOKEN_DELAY * 1000,
        "answerSeconds": round(CHUNKS * CHUNK_DELAY, 2),
        "idleRssMiB": idle,
        "levels": rows,
    }
    return found | {"recommended": recommend(found)}
