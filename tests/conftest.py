"""Suite-wide fixtures: real emulators on free ports, a clean Firestore per test, and the
functions loaded through functions-framework by path."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra.local.emulators import EmulatorError, Emulators, free_port
from infra.manifest import load as load_manifest
from shared.core import state

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "demo-agent-platform-test"

E2E_ADMIN_TOKEN = "e2e-admin-token-0123456789"
# Settings are read from the environment once per process; fix the suite's values before
# any module under test reads them.
os.environ.update(
    {
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        "ALLOWED_ORIGINS": "https://app.example.test",
        "ADMIN_TOKEN": E2E_ADMIN_TOKEN,
        # Every test client comes from 127.0.0.1: the per-address bounds are tested on
        # their own (tests/shared/limits, tests/platform/test_spend_bounds.py).
        "SESSION_CREATE_PER_MINUTE": "0",
        "CHAT_MESSAGES_PER_ADDRESS_PER_MINUTE": "0",
        "CHAT_TOKENS_PER_ADDRESS_PER_DAY": "0",
        # A 2-core box shared with other suites: cold emulators and imports can take
        # seconds. tests/platform/test_bounds.py runs the production defaults.
        "FIRESTORE_CALL_TIMEOUT_SECONDS": "10",
        "REQUEST_DEADLINE_SECONDS": "30",
        "GITHUB_WEBHOOK_DEADLINE_SECONDS": "30",
        # The platform's functions and bounds, as `make run` and Terraform give them to the
        # functions that serve operator tools (shared/platform_ops).
        "PLATFORM_FUNCTIONS": load_manifest().bounds_json(),
    }
)
os.environ.pop("ANTHROPIC_API_KEY", None)


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    """Both emulators for the whole run. Fails (never skips) if they cannot start.

    `TEST_EMULATOR_PORTS=FIRESTORE,PUBSUB` reuses emulators already running there (the
    mutation run starts them once for hundreds of short test runs)."""
    reused = os.environ.get("TEST_EMULATOR_PORTS")
    if reused:
        firestore_port, pubsub_port = (int(port) for port in reused.split(","))
        running = Emulators(firestore_port, pubsub_port, PROJECT)
    else:
        running = Emulators(free_port(), free_port(), PROJECT)
        try:
            running.start()
        except EmulatorError as exc:
            pytest.fail(f"the emulators could not start: {exc}", pytrace=False)
    os.environ.update(running.env)

    state.reset()
    yield running
    running.stop()


@pytest.fixture
def firestore_db(emulators: Emulators) -> Iterator[Any]:
    """A Firestore client on an emptied emulator, and caches that could remember old data."""
    from shared.gcp import clients

    emulators.clear_firestore()
    state.reset()
    yield clients.firestore()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Change environment variables for one test: `settings(NAME="value", OTHER=None)`.

    The one way tests change configuration: every cache that read the old values forgets
    them (`shared.core.state.reset`), now and again when the test ends.
    """
    from shared.core import state

    def apply(**env: str | None) -> None:
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        state.reset()

    yield apply
    monkeypatch.undo()
    state.reset()


@dataclass
class LoadedFunction:
    app: Any
    module: ModuleType


def load_function(source: str, target: str, signature: str = "http") -> LoadedFunction:
    """An entry point as functions-framework serves it, loaded by path.

    Every function's module is called `main`; each load replaces `sys.modules["main"]`, so
    the module is captured here, right after its own load.
    """
    from functions_framework import create_app

    app = create_app(target, str(ROOT / source / "main.py"), signature)
    return LoadedFunction(app, sys.modules["main"])


@dataclass
class RunningStack:
    """`make run`'s process, started on free ports, with everything it printed."""

    process: subprocess.Popen[bytes]
    url: str
    ports: list[int]  # gateway, Firestore, Pub/Sub, first function
    output: list[str]
    project: str = "demo-agent-platform-e2e"


def start_stack(
    extra_env: dict[str, str] | None = None, command: list[str] | None = None
) -> RunningStack:
    """Start `python -m infra.local.stack` (what `make run` runs, or `command`) on free ports."""
    # The functions take consecutive ports from the base: start below the ephemeral range
    # (32768+), where outgoing connections would take ports from under them.
    ports = [free_port(), free_port(), free_port(), random.randint(20000, 29000)]
    env = {
        **os.environ,
        **(extra_env or {}),
        "PORT": str(ports[0]),
        "FIRESTORE_PORT": str(ports[1]),
        "PUBSUB_PORT": str(ports[2]),
        "FUNCTION_BASE_PORT": str(ports[3]),
        "GOOGLE_CLOUD_PROJECT": "demo-agent-platform-e2e",
        "ADMIN_TOKEN": E2E_ADMIN_TOKEN,
        "ENVIRONMENT": "local",
    }
    for name in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        env.pop(name, None)
    process = subprocess.Popen(
        command or [sys.executable, "-m", "infra.local.stack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            if "Agent platform ready" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 120
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the local stack did not start:\n" + "\n".join(output[-40:]), pytrace=False)
    return RunningStack(process, f"http://127.0.0.1:{ports[0]}", ports, output)


def stop_stack(stack: RunningStack) -> int:
    """Ctrl-C, as a user would; returns the exit code."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
    return stack.process.wait(30)


@dataclass
class StackPeers:
    """Local stand-ins for what the stack talks to outside Google: Anthropic and Slack."""

    messages_api: Any
    slack: Any
    secrets: dict[str, str]


@pytest.fixture(scope="session")
def stack_peers() -> Iterator[StackPeers]:
    from tests.support.messages_api import FakeMessagesApi
    from tests.support.slack_server import running_slack

    messages_api = FakeMessagesApi().start()
    with running_slack() as slack:
        secrets = {
            "ANTHROPIC_API_KEY": "sk-ant-e2e-" + os.urandom(12).hex(),
            "GITHUB_WEBHOOK_SECRET": "ghs-e2e-" + os.urandom(12).hex(),
            "SLACK_WEBHOOK_URL": slack.url,
            "ADMIN_TOKEN": E2E_ADMIN_TOKEN,
        }
        yield StackPeers(messages_api, slack, secrets)
    messages_api.stop()


@pytest.fixture(scope="session")
def local_stack(stack_peers: StackPeers) -> Iterator[RunningStack]:
    """The whole local stack with a (local-server) API key, shared by the e2e tests."""
    stack = start_stack(
        {
            **stack_peers.secrets,
            "ANTHROPIC_BASE_URL": stack_peers.messages_api.url,
            "OFFLINE_CHUNK_DELAY_MS": "0",
            "ALERT_GROUP_WAIT_SECONDS": "0",
            "SWEEP_SECONDS": "2",  # Cloud Scheduler's 10 minutes, made short
            # The journeys read the Cloud Logging lines; `make run` itself defaults to text.
            "LOG_FORMAT": "json",
        }
    )
    yield stack
    stop_stack(stack)


SLOW_REPLY = "천천히 흐르는 답변입니다 🌊 " * 6


@pytest.fixture
def slow_model(stack_peers: StackPeers) -> Iterator[Any]:
    """The stack's stand-in for the Messages API, answering `SLOW_REPLY` in 40 chunks
    0.15 s apart (about 6 s), so a client can be seen receiving it piece by piece."""
    fake = stack_peers.messages_api
    saved = (fake.reply, fake.chunks)
    fake.reset()
    fake.reply, fake.chunks, fake.chunk_delay = SLOW_REPLY, 40, 0.15
    yield fake
    fake.reset()
    fake.reply, fake.chunks = saved
