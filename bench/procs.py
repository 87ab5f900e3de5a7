"""Processes and clients for the benchmarks: servers on free loopback ports, a lean
keep-alive HTTP client, and the summary statistics every section reports."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.emulators import free_port, stop_processes
from infra.manifest import ROOT, Entry

LOG_DIR = Path(tempfile.gettempdir()) / "agent-platform-bench-logs"


def summary(samples: list[float], digits: int = 2) -> dict[str, Any]:
    """Median, min, max and count of samples (milliseconds or whatever they are in)."""
    if not samples:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": len(samples),
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Client:
    """One keep-alive connection (http.client: far less client overhead than httpx)."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        )
        sent = {"Content-Type": "application/json"} if payload is not None else {}
        sent |= headers or {}
        try:
            self.connection.request(method, path, body=payload, headers=sent)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout
            )
            raise
        return Answer(response.status, data, {k.lower(): v for k, v in response.getheaders()})

    def close(self) -> None:
        self.connection.close()


def once(port: int, method: str, path: str, **kwargs: Any) -> Answer:
    client = Client(port, timeout=10)
    try:
        return client.request(method, path, **kwargs)
    finally:
        client.close()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    started: float

    def stop(self) -> None:
        stop_processes([self.process], grace=3)


def _spawn(name: str, command: list[str], env: dict[str, str], port: int) -> Server:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / f"{name}.log").open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(name, port, process, started)


def function_server(
    name: str,
    source: Path,
    target: str,
    env: dict[str, str],
    *,
    signature: str = "http",
    threads: int = 8,
    timeout_seconds: int = 60,
) -> Server:
    """`python -m functions_framework` (gunicorn, 1 worker, gthread THREADS) on a free port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "functions_framework",
        "--target",
        target,
        "--source",
        str(source),
        "--signature-type",
        signature,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    run_env = {**env, "THREADS": str(threads), "CLOUD_RUN_TIMEOUT_SECONDS": str(timeout_seconds)}
    return _spawn(name, command, run_env, port)


def entry_server(entry: Entry, env: dict[str, str]) -> Server:
    return function_server(
        entry.name,
        entry.main_path,
        entry.entry_point,
        {**env, **entry.env, "K_SERVICE": entry.name},
        signature="http" if entry.is_http else "cloudevent",
        # The thread count production runs (Terraform sets the same THREADS).
        threads=int(entry.server_env["THREADS"]),
        timeout_seconds=int(entry.server_env["CLOUD_RUN_TIMEOUT_SECONDS"]),
    )


def uvicorn_server(name: str, app: str, env: dict[str, str]) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return _spawn(name, command, env, port)


def wait_for_answer(server: Server, probe: Callable[[], bool], timeout: float = 60) -> float:
    """Seconds from process start to the probe's first success; raises if it never comes."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        try:
            if probe():
                return time.perf_counter() - server.started
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{server.name} gave no successful answer within {timeout:.0f} s")


def bench_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOADTEST_", "ANTHROPIC"))}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env
