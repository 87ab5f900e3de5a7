"""Suite-wide fixtures: real emulators on free ports, a clean Firestore per test, and the
functions loaded through functions-framework by path."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra.local.emulators import EmulatorError, Emulators, free_port

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "demo-agent-platform-test"

# Settings are read from the environment once per process; fix the suite's values before
# any module under test reads them.
os.environ.update(
    {
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        "ALLOWED_ORIGINS": "https://app.example.test",
    }
)
os.environ.pop("ANTHROPIC_API_KEY", None)


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    """Both emulators for the whole run. Fails (never skips) if they cannot start."""
    running = Emulators(free_port(), free_port(), PROJECT)
    try:
        running.start()
    except EmulatorError as exc:
        pytest.fail(f"the emulators could not start: {exc}", pytrace=False)
    os.environ.update(running.env)
    from shared import clients

    clients.reset()
    yield running
    running.stop()


@pytest.fixture
def firestore_db(emulators: Emulators) -> Iterator[Any]:
    """A Firestore client on an emptied emulator, and caches that could remember old data."""
    from shared import auth, clients

    emulators.clear_firestore()
    auth.clear_cache()
    yield clients.firestore()


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
