"""Fixtures for driving the CLI against a stand-in platform (fake_platform.py) in this
process, with its own config folder."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent_platform_cli.config import load
from agent_platform_cli.main import main
from tests.agent_platform_cli.fake_platform import FakePlatform

GUEST_TOKEN = "gst_saved_guest_token"


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    platform = FakePlatform()
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
def home(tmp_path: Path, fake: FakePlatform, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder of this test's own, pointed at the stand-in platform."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AGENT_PLATFORM_URL", fake.url)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


@pytest.fixture
def guest(home: Path, fake: FakePlatform) -> FakePlatform:
    """A saved guest session and operator token, and the platform's guest routes."""
    config = load()
    config.platform(fake.url).session_token = GUEST_TOKEN
    config.platform(fake.url).operator_token = "operator-token"
    config.save()
    return fake.with_a_guest()


@dataclass
class Run:
    status: int
    out: str
    err: str


def run_cli(*argv: str, stdin: str = "") -> Run:
    """The CLI in this process, its standard streams captured (none is a terminal)."""
    out, err = io.StringIO(), io.StringIO()
    original = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(argv))
    finally:
        sys.stdin = original
    return Run(status, out.getvalue(), err.getvalue())
