"""`make run`: the whole platform on 127.0.0.1, from the manifest.

Starts the two emulators, every manifest entry point under functions-framework (gunicorn),
the Pub/Sub topics, dead-letter topics and push subscriptions, and the gateway; prints the
URL once a request to any function would succeed (below); streams every process's log
prefixed with its name; and on Ctrl-C or SIGTERM stops every process it started, the
functions before the emulators they use. However it dies (SIGKILL included), a watchdog
kills those process groups (`infra.local.watchdog`), and the stack dies with `make`, its
parent.

Ready means: both emulators answered a Firestore query and a Pub/Sub call, every topic
and push subscription exists, every function's worker answered an HTTP request (gunicorn
opens its port before its worker has imported the function), and the outbox relay's
first tick has run.

With ADMIN_TOKEN set, the stack also serves a control endpoint for the operator tools
(infra/local/control.py): the functions' processes and local revisions (a process start),
the gateway's request figures, the processes' last log lines (infra/local/logbook.py),
and a restart that stops a function's process and starts it again. The functions that
serve operator tools (`operatorTools: true` in the manifest) get its URL and the
manifest's functions and bounds (`PLATFORM_*`, as Terraform gives them in a deployment).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from infra.local.control import Control
from infra.local.emulators import (
    EmulatorError,
    Emulators,
    StartCancelled,
    free_port,
    port_free,
    stop_processes,
    wait_for,
)
from infra.local.logbook import LogBook
from infra.manifest import ROOT, Entry, Manifest, load

DEFAULT_PROJECT = "demo-agent-platform"
FUNCTION_BASE_PORT = 8101
MAX_DELIVERY_ATTEMPTS = 5
# Locally threads play Cloud Scheduler's part: a tick on this topic every few seconds, and
# the sweep (`POST /v1/sweeps`, an operator route) when ADMIN_TOKEN is set.
OUTBOX_RELAY_TOPIC = "outbox-relay"
SWEEP_PATH = "/v1/sweeps"
# How long a restarted function may take to answer again (a cold import on a busy box).
RESTART_READY_SECONDS = 90


def _paths(entry: Entry) -> list[str]:
    return entry.trigger.http.paths if entry.trigger.http else []


@dataclass
class Stack:
    manifest: Manifest
    project: str
    firestore_port: int
    pubsub_port: int
    gateway_port: int
    base_env: dict[str, str]
    emulators: Emulators | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    watchdog: subprocess.Popen | None = None
    ports: dict[str, int] = field(default_factory=dict)
    log_sink: Callable[[str, str], None] = lambda name, line: None
    stopped: threading.Event = field(default_factory=threading.Event)
    # Asked between the steps of `start`: true once a stop was requested (a signal).
    cancelled: Callable[[], bool] = lambda: False
    pumps: list[threading.Thread] = field(default_factory=list)
    logbook: LogBook = field(default_factory=LogBook)
    control: Control | None = None
    # When each function's process started (a local revision each), and who restarts now.
    starts: dict[str, list[float]] = field(default_factory=dict)
    restarting: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def function_url(self, entry_name: str) -> str:
        return f"http://127.0.0.1:{self.ports[entry_name]}"

    def start(self) -> Stack:
        """Start everything and return once ready; `StartCancelled` if `cancelled()`
        becomes true meanwhile (what was started is left for `stop`)."""
        self._start_watchdog()
        emulators = Emulators(self.firestore_port, self.pubsub_port, self.project)
        self.emulators = emulators
        emulators.start(cancelled=self.cancelled)
        for process in emulators.processes:
            self._watch(process)
        self.base_env.update(emulators.env)
        os.environ.update(emulators.env)  # the stack's own clients (topics, warm-up, ticks)
        self._assign_ports()
        self._start_control()
        for entry in self.manifest.functions:
            self._start_function(entry)
        # While the functions import, side by side: topics and push subscriptions (an
        # event published right after "ready" must find its subscription), and Firestore
        # calls like the first ones of the functions, whose first answers take seconds
        # while the emulator's JVM warms up.
        with ThreadPoolExecutor(2) as pool:
            steps = [pool.submit(self._create_topics_and_subscriptions)]
            steps.append(pool.submit(self._warm_firestore))
            for step in steps:
                step.result()
        self._check_cancelled()
        self._start_gateway()
        self._wait_until_ready()
        if OUTBOX_RELAY_TOPIC in self.manifest.topics():
            self._first_outbox_relay_tick()
            self._check_cancelled()
            self._every("OUTBOX_RELAY_SECONDS", 10, "outbox relay", self._tick_outbox_relay())
        sweeper = next((e for e in self.manifest.http_entries() if SWEEP_PATH in _paths(e)), None)
        token = self.base_env.get("ADMIN_TOKEN")
        if sweeper is not None and token:
            self._every("SWEEP_SECONDS", 600, "sweep", self._sweep(sweeper, token))
        elif sweeper is not None:
            self.log_sink("stack", "sweep not scheduled: set ADMIN_TOKEN to run it locally")
        return self

    def _every(self, setting: str, default: float, what: str, tick: Callable[[], None]) -> None:
        """Call `tick` every `setting` seconds until the stack stops; a failure is logged."""
        interval = float(self.base_env.get(setting, str(default)))

        def loop() -> None:
            while not self.stopped.wait(interval):
                try:
                    tick()
                except Exception as exc:  # noqa: BLE001 - the next tick tries again
                    if not self.stopped.is_set():  # a tick cut short by the stop is no news
                        self.log_sink("stack", f"{what} tick failed: {exc!r}")

        threading.Thread(target=loop, daemon=True).start()

    def _tick_outbox_relay(self) -> Callable[[], None]:
        from google.cloud.pubsub_v1 import PublisherClient

        publisher = PublisherClient()
        topic = publisher.topic_path(self.project, OUTBOX_RELAY_TOPIC)
        return lambda: publisher.publish(topic, b"{}").result(timeout=10)

    def _first_outbox_relay_tick(self) -> None:
        """The relay's first tick, pushed as Pub/Sub would push it, waited for."""
        import httpx

        entry = next(
            e
            for e in self.manifest.pubsub_entries()
            if e.trigger.pubsub is not None and e.trigger.pubsub.topic == OUTBOX_RELAY_TOPIC
        )
        topic = f"projects/{self.project}/topics/{OUTBOX_RELAY_TOPIC}"
        push = {
            "subscription": f"projects/{self.project}/subscriptions/{entry.name}",
            "message": {
                "data": base64.b64encode(b"{}").decode(),
                "attributes": {},
                "messageId": "make-run-first-tick",
                "publishTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        }
        answer = httpx.post(f"{self.function_url(entry.name)}/{topic}", json=push, timeout=60)
        if answer.status_code >= 300:
            raise EmulatorError(f"the outbox relay's first tick answered {answer.status_code}")

    def _sweep(self, entry: Entry, token: str) -> Callable[[], None]:
        import httpx

        url = self.function_url(entry.name) + SWEEP_PATH
        headers = {"Authorization": f"Bearer {token}"}

        def tick() -> None:
            answer = httpx.post(url, json={}, headers=headers, timeout=300)
            answer.raise_for_status()
            self.log_sink("stack", f"sweep: {answer.text.strip()}")

        return tick

    def _assign_ports(self) -> None:
        port = int(self.base_env.get("FUNCTION_BASE_PORT", FUNCTION_BASE_PORT))
        taken = {self.firestore_port, self.pubsub_port, self.gateway_port}
        for entry in self.manifest.functions:
            while port in taken or not port_free(port):
                port += 1
            self.ports[entry.name] = port
            taken.add(port)
            port += 1

    def _start_watchdog(self) -> None:
        """`infra.local.watchdog`: our children die with us, even after a SIGKILL."""
        self.watchdog = subprocess.Popen(
            [sys.executable, "-m", "infra.local.watchdog"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            start_new_session=True,
        )

    def _watch(self, process: subprocess.Popen) -> None:
        if self.watchdog is not None and self.watchdog.stdin is not None:
            self.watchdog.stdin.write(f"{process.pid}\n".encode())
            self.watchdog.stdin.flush()

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with self._lock:
            if self.stopped.is_set():
                raise StartCancelled(f"stopped before {name} started")
            self._spawn_now(name, command, env)

    def _spawn_now(self, name: str, command: list[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes[name] = process
        self._watch(process)
        assert process.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, process.stdout), daemon=True)
        pump.start()
        self.pumps.append(pump)

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            self.logbook.add(name, line)
            self.log_sink(name, line)

    def _start_function(self, entry: Entry) -> None:
        env = {
            **self.base_env,
            **entry.env,
            **entry.server_env,
            **(self._operator_tools_env() if entry.operator_tools else {}),
            "K_SERVICE": entry.name,
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable,
            "-m",
            "functions_framework",
            "--target",
            entry.entry_point,
            "--source",
            str(entry.main_path),
            "--signature-type",
            "http" if entry.is_http else "cloudevent",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports[entry.name]),
        ]
        self._spawn(entry.name, command, env)
        self.starts.setdefault(entry.name, []).append(time.time())

    # -- the control endpoint and what it reads -------------------------------------------

    def _operator_tools_env(self) -> dict[str, str]:
        """What a function serving operator tools needs to act on this stack."""
        env = {"PLATFORM_ADAPTER": "local", "PLATFORM_FUNCTIONS": self.manifest.bounds_json()}
        if self.control is not None:
            env["PLATFORM_LOCAL_STACK_URL"] = self.control.url
        return env

    def _start_control(self) -> None:
        token = self.base_env.get("ADMIN_TOKEN")
        if not token:
            self.log_sink("stack", "operator tools act on no stack: set ADMIN_TOKEN for them")
            return
        self.control = Control(self, token, free_port()).start()

    def function_names(self) -> list[str]:
        return [entry.name for entry in self.manifest.functions]

    def _revision(self, name: str, start: int) -> str:
        return f"{name}-local-{start:05d}"

    def function_views(self, minutes: float) -> list[dict[str, Any]]:
        """Each function's process, local revision and figures over the last `minutes`."""
        since = time.time() - minutes * 60
        figures = self._request_figures(minutes)
        views = []
        with self._lock:
            for entry in self.manifest.functions:
                process = self.processes.get(entry.name)
                starts = self.starts.get(entry.name, [])
                running = process is not None and process.poll() is None
                view: dict[str, Any] = {
                    "name": entry.name,
                    "kind": "http" if entry.is_http else "pubsub",
                    "port": self.ports.get(entry.name),
                    "pid": process.pid if process is not None else None,
                    "running": running,
                    "restarting": entry.name in self.restarting,
                    "revision": self._revision(entry.name, len(starts)) if starts else None,
                    "startedAt": _iso(starts[-1]) if starts else None,
                    "coldStarts": sum(1 for at in starts if at >= since),
                    "requests": None,
                }
                if entry.is_http and entry.name in self.ports:
                    url = self.function_url(entry.name)
                    view.update(figures.get(url, {"requests": 0, "errors5xx": 0, "p95Ms": None}))
                views.append(view)
        return views

    def revision_views(self, minutes: float) -> list[dict[str, Any]]:
        since = time.time() - minutes * 60
        with self._lock:
            found = [
                {
                    "function": name,
                    "revision": self._revision(name, number),
                    "createdAt": _iso(at),
                    "ready": True,
                }
                for name, starts in self.starts.items()
                for number, at in enumerate(starts, start=1)
                if at >= since
            ]
        return sorted(found, key=lambda item: str(item["createdAt"]), reverse=True)

    def _request_figures(self, minutes: float) -> dict[str, dict[str, Any]]:
        """The gateway's figures per backend URL (nothing when it does not answer)."""
        import httpx

        token = self.base_env.get("ADMIN_TOKEN", "")
        try:
            answer = httpx.get(
                f"{self.url}/_stack/requests",
                params={"minutes": minutes},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            answer.raise_for_status()
        except httpx.HTTPError:
            return {}
        backends: dict[str, dict[str, Any]] = answer.json().get("backends", {})
        return backends

    def restart(self, name: str, wait: bool) -> tuple[int, dict[str, Any]]:
        """Stop the function's process (its requests finish first) and start it again on
        the same port. With `wait`, answer once it serves again; else at once (202): a
        function restarting itself cannot wait for its own process to stop."""
        from infra.local.control import StackError

        entry = next(e for e in self.manifest.functions if e.name == name)
        with self._lock:
            if self.stopped.is_set():
                raise StackError(503, "unavailable", "the stack is stopping")
            if name in self.restarting:
                raise StackError(409, "conflict", f"{name} is restarting already")
            self.restarting.add(name)
            old = self.processes[name]
            previous = self._revision(name, len(self.starts.get(name, [])))
        answer = {
            "function": name,
            "previousRevision": previous,
            "revision": self._revision(name, len(self.starts.get(name, [])) + 1),
            "previousPid": old.pid,
        }
        if not wait:
            threading.Thread(target=self._restart, args=(entry, old), daemon=True).start()
            return 202, {**answer, "ready": False, "seconds": 0.0}
        started = time.monotonic()
        ready = self._restart(entry, old)
        process = self.processes.get(name)
        return 200, {
            **answer,
            "pid": process.pid if process is not None else None,
            "ready": ready,
            "seconds": round(time.monotonic() - started, 2),
        }

    def _restart(self, entry: Entry, old: subprocess.Popen) -> bool:
        """Whether the function serves again (within RESTART_READY_SECONDS)."""
        try:
            self.log_sink("stack", f"restarting {entry.name} (pid {old.pid})")
            stop_processes([old], leader_only=True)
            self._start_function(entry)
            process = self.processes.get(entry.name)
            url = self.function_url(entry.name) + ("/openapi.json" if entry.is_http else "/")
            wait_for(
                lambda: _answers(url),
                RESTART_READY_SECONDS,
                entry.name,
                process,
                self.stopped.is_set,
            )
            self.log_sink(
                "stack", f"{entry.name} restarted (pid {process.pid if process else '?'})"
            )
            return True
        except (EmulatorError, StartCancelled) as exc:
            self.log_sink("stack", f"restarting {entry.name} failed: {exc}")
            return False
        finally:
            with self._lock:
                self.restarting.discard(entry.name)

    def exited(self) -> tuple[str, int] | None:
        """A function (or the gateway) whose process ended on its own, with its code; a
        process being restarted does not count."""
        with self._lock:
            for name, process in self.processes.items():
                code = None if name in self.restarting else process.poll()
                if code is not None:
                    return name, code
        return None

    def gateway_routes(self) -> dict[str, str]:
        routes: dict[str, str] = {}
        for entry in self.manifest.http_entries():
            assert entry.trigger.http is not None
            for prefix in entry.trigger.http.paths:
                routes[prefix] = self.function_url(entry.name)
        return routes

    def _start_gateway(self) -> None:
        env = {
            **self.base_env,
            "GATEWAY_ROUTES": json.dumps(self.gateway_routes()),
            "PORT": str(self.gateway_port),
            "PYTHONUNBUFFERED": "1",
        }
        self._spawn("gateway", [sys.executable, "-m", "infra.local.gateway"], env)

    def _check_cancelled(self) -> None:
        if self.cancelled():
            raise StartCancelled("stopped while starting")

    def _wait_until_ready(self, timeout: float = 90) -> None:
        """Until every function's worker and the gateway answer HTTP."""
        checks: list[tuple[str, str]] = [
            (
                entry.name,
                self.function_url(entry.name) + ("/openapi.json" if entry.is_http else "/"),
            )
            for entry in self.manifest.functions
        ]
        checks.append(("gateway", f"{self.url}/healthz"))
        for name, url in checks:
            wait_for(
                lambda url=url: _answers(url), timeout, name, self.processes[name], self.cancelled
            )

    def _warm_firestore(self) -> None:
        """A write, a read and a query like the outbox relay's, before any function's."""
        from datetime import UTC, datetime

        from google.cloud import firestore

        client = firestore.Client(project=self.project)
        warm = client.collection("_make_run").document("warm-up")
        warm.set({"at": firestore.SERVER_TIMESTAMP}, timeout=60)
        warm.get(timeout=60)
        query = client.collection("_make_run").where(
            filter=firestore.FieldFilter("at", "<=", datetime.now(UTC))
        )
        list(query.order_by("at").limit(1).stream(timeout=60))
        warm.delete(timeout=60)
        client.close()

    def _create_topics_and_subscriptions(self) -> None:
        from google.api_core.exceptions import AlreadyExists
        from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
        from google.pubsub_v1.types import DeadLetterPolicy, RetryPolicy

        publisher = PublisherClient()
        subscriber = SubscriberClient()
        for topic in self.manifest.topics():
            dead_letter = [] if topic.endswith("-dead-letter") else [f"{topic}-dead-letter"]
            for name in (topic, *dead_letter):
                with contextlib.suppress(AlreadyExists):
                    publisher.create_topic(name=publisher.topic_path(self.project, name))
        for entry in self.manifest.pubsub_entries():
            assert entry.trigger.pubsub is not None
            topic = entry.trigger.pubsub.topic
            endpoint = f"{self.function_url(entry.name)}/projects/{self.project}/topics/{topic}"
            request: dict[str, Any] = {
                "name": subscriber.subscription_path(self.project, entry.name),
                "topic": publisher.topic_path(self.project, topic),
                "push_config": {"push_endpoint": endpoint},
                "ack_deadline_seconds": min(600, max(10, entry.scaling.timeout_seconds)),
                "retry_policy": RetryPolicy(
                    minimum_backoff={"seconds": 1}, maximum_backoff={"seconds": 10}
                ),
            }
            if not topic.endswith("-dead-letter"):
                request["dead_letter_policy"] = DeadLetterPolicy(
                    dead_letter_topic=publisher.topic_path(self.project, f"{topic}-dead-letter"),
                    max_delivery_attempts=MAX_DELIVERY_ATTEMPTS,
                )
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(request=request)
        subscriber.close()

    def stop(self) -> None:
        """The ticks, then the gateway and the functions (each arbiter stops its workers
        after their requests), then the emulators they were using, then the watchdog."""
        with self._lock:
            self.stopped.set()
            running = list(self.processes.values())
            self.processes.clear()
        if self.control is not None:
            self.control.stop()
        stop_processes(running, leader_only=True)
        printed_by = time.monotonic() + 5  # the last lines of the processes, before the rest
        for pump in self.pumps:
            pump.join(timeout=max(0.0, printed_by - time.monotonic()))
        if self.emulators is not None:
            self.emulators.stop()
        if self.watchdog is not None and self.watchdog.stdin is not None:
            self.watchdog.stdin.close()  # nothing left for it to kill; it exits
            self.watchdog.wait(10)


def from_environment(manifest: Manifest | None = None) -> Stack:
    env = dict(os.environ)
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    env.pop("PUBSUB_EMULATOR_HOST", None)
    project = env.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
    env["GOOGLE_CLOUD_PROJECT"] = project
    env.setdefault("ENVIRONMENT", "local")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    gateway_port = int(env.get("PORT", "8080"))
    origins = [f"http://127.0.0.1:{gateway_port}", f"http://localhost:{gateway_port}"]
    # A load test started here targets this stack, and MCP serves this gateway's pages.
    env.setdefault("LOADTEST_TARGET_BASE_URL", origins[0])
    env.setdefault("MCP_ALLOWED_ORIGINS", ",".join(origins))
    return Stack(
        manifest=manifest or load(),
        project=project,
        firestore_port=int(env.get("FIRESTORE_PORT", "8081")),
        pubsub_port=int(env.get("PUBSUB_PORT", "8085")),
        gateway_port=gateway_port,
        base_env=env,
    )


def banner_of_functions(stack: Stack) -> str:
    """Which function listens where (the gateway routes its prefixes to them)."""
    lines = ["  Functions (LOG_FORMAT=json for Cloud Logging lines):"]
    for entry in stack.manifest.functions:
        http, pubsub = entry.trigger.http, entry.trigger.pubsub
        where = ", ".join(http.paths) if http else f"push from {pubsub.topic if pubsub else '?'}"
        lines.append(f"    {entry.name:<24} 127.0.0.1:{stack.ports[entry.name]:<6} {where}")
    return "\n".join(lines) + "\n"


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _answers(url: str) -> bool:
    """Whether a server answers `url` with any HTTP status within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, http.client.HTTPException):
        return False


class StopSignals:
    """SIGINT and SIGTERM, recorded for the main thread to act on.

    A Python signal handler runs on the main thread between two bytecodes, possibly while
    that thread holds a lock (an `Event`'s, a `Condition`'s, stdout's): one that took a
    lock could wait forever on its own thread. So the handler only stores the signal, and
    `signal.set_wakeup_fd` wakes the main thread's `select` in `wait`.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._record)

    def _record(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum

    def requested(self) -> bool:
        return self.received is not None

    def wait(self, timeout: float) -> bool:
        """Sleep until a signal arrives or `timeout` passes; whether a stop was asked."""
        if self.received is None:
            select.select([self._read], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                os.read(self._read, 512)
        return self.received is not None


def _print_log(name: str, line: str) -> None:
    sys.stdout.write(f"{name:>16} | {line}\n")
    sys.stdout.flush()


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent (`make`) dies; the watchdog then
    takes our children with us."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main() -> int:
    _die_with_parent()
    signals = StopSignals()
    signals.install()
    stack = from_environment()
    stack.log_sink = _print_log
    stack.cancelled = signals.requested
    started = time.monotonic()
    try:
        stack.start()
    except StartCancelled:
        return _stop(stack, 0)
    except EmulatorError as exc:
        sys.stderr.write(f"make run: {exc}\n")
        stack.stop()
        return 1
    except BaseException:
        stack.stop()
        raise
    print(
        f"\nAgent platform ready in {time.monotonic() - started:.1f} s at {stack.url}\n"
        f"  Console: {stack.url}/\n"
        f"  OpenAPI: {stack.url}/v1/openapi.json\n"
        f"  Try:     curl -s -X POST {stack.url}/v1/sessions\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )
    print(banner_of_functions(stack), flush=True)
    code = 0
    while code == 0 and not signals.wait(0.5):
        exited = stack.exited()
        if exited is not None:
            print(f"make run: {exited[0]} exited with code {exited[1]}; stopping")
            code = 1
    return _stop(stack, code)


def _stop(stack: Stack, code: int) -> int:
    print("make run: stopping", flush=True)
    started = time.monotonic()
    stack.stop()
    # The last line: everything the processes printed is above it.
    print(f"make run: stopped in {time.monotonic() - started:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    # Free ports can be requested explicitly for parallel stacks: PORT=0 picks one.
    if os.environ.get("PORT") == "0":
        os.environ["PORT"] = str(free_port())
    sys.exit(main())
