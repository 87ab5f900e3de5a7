"""`agent-platform chat`: chat commands stay on this side, a terminal gets line editing and
history, and Ctrl-C asks the platform to stop the answer."""

from __future__ import annotations

import os
import pty
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.agent_platform_cli.conftest import run_cli
from tests.agent_platform_cli.fake_platform import (
    AGENT,
    ANSWER_ID,
    OTHER_AGENT,
    FakePlatform,
    answer,
    answer_frames,
    stream,
)
from tests.conftest import ROOT

MESSAGES = "/v1/conversations/cnv_1/messages"


def test_chat_commands_never_reach_the_model(guest: FakePlatform) -> None:
    typed = "/help\n/new\n/agent Other\n/frobnicate\n//etc is a path\nhello\n/quit\nnot sent\n"

    result = run_cli("chat", "Helper", stdin=typed)

    sent = [request.json()["content"] for request in guest.sent("POST", MESSAGES)]
    conversations = [
        request.json()["agentId"] for request in guest.sent("POST", "/v1/conversations")
    ]
    assert result.status == 0, result.err
    assert sent == ["/etc is a path", "hello"]
    assert conversations == [AGENT["id"], AGENT["id"], OTHER_AGENT["id"]]
    assert "/agent NAME|ID" in result.err
    assert "unknown chat command /frobnicate" in result.err
    assert "Chatting with Other" in result.err


def test_switching_to_an_unknown_agent_keeps_the_chat_where_it_was(guest: FakePlatform) -> None:
    result = run_cli("chat", "Helper", stdin="/agent Nobody\nhello\n")

    assert result.status == 0
    assert "error: no agent named 'Nobody'" in result.err
    assert [r.json()["content"] for r in guest.sent("POST", MESSAGES)] == ["hello"]


class Screen:
    """What a child wrote to a terminal or pipe, collected by a thread as it arrives."""

    def __init__(self, descriptor: int) -> None:
        self.text = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(descriptor,), daemon=True).start()

    def _pump(self, descriptor: int) -> None:
        while True:
            try:
                chunk = os.read(descriptor, 4096)
            except OSError:  # the terminal closed with the child
                return
            if not chunk:
                return
            self._chunks.put(chunk.decode(errors="replace"))

    def wait_for(self, needle: str, count: int = 1, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while self.text.count(needle) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{needle!r} x{count} never came; got {self.text!r}"
            try:
                self.text += self._chunks.get(timeout=remaining)
            except queue.Empty:
                continue
        return self.text


def _chat_child(
    fake: FakePlatform, home: Path, *, stdin: int, stdout: int, stderr: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home),
        "AGENT_PLATFORM_URL": fake.url,
        "TERM": "xterm",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "agent_platform_cli.main", "chat", "Helper"],
        cwd=ROOT,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=env,
    )


def _type_at_a_terminal(fake: FakePlatform, home: Path, keys: list[bytes]) -> None:
    """Run a chat on a pseudo-terminal and type `keys`, each after the next prompt."""
    controller, terminal = pty.openpty()
    child = _chat_child(fake, home, stdin=terminal, stdout=terminal, stderr=subprocess.DEVNULL)
    os.close(terminal)
    screen = Screen(controller)
    try:
        for number, key in enumerate(keys, start=1):
            screen.wait_for("you> ", count=number)
            os.write(controller, key)
        assert child.wait(20) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        os.close(controller)


LEFT, UP, ENTER, CTRL_D = b"\x1b[D", b"\x1b[A", b"\r", b"\x04"


def test_a_terminal_gets_line_editing_and_history_kept_0600(
    guest: FakePlatform, home: Path
) -> None:
    _type_at_a_terminal(guest, home, [b"abc" + LEFT + b"x" + ENTER, b" secret" + ENTER, CTRL_D])
    _type_at_a_terminal(guest, home, [UP + ENTER, CTRL_D])

    history = home / "agent-platform" / "chat_history"
    sent = [request.json()["content"] for request in guest.sent("POST", MESSAGES)]
    assert sent == ["abxc", " secret", "abxc"]
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert "abxc" in history.read_text()
    assert "secret" not in history.read_text()


@pytest.mark.parametrize("cancel_status", [202, 404, 405])
def test_ctrl_c_asks_the_platform_to_cancel_the_answer_and_the_chat_goes_on(
    guest: FakePlatform, home: Path, cancel_status: int
) -> None:
    frames = answer_frames("Thinking it over")[:2]
    guest.on("POST", MESSAGES, stream(frames, then="keepalives"))
    cancel = f"{MESSAGES}/{ANSWER_ID}/cancel"
    guest.on("POST", cancel, answer(cancel_status, {"error": {"message": "no"}}))
    child = _chat_child(
        guest, home, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    shown, errors = Screen(child.stdout.fileno()), Screen(child.stderr.fileno())
    try:
        child.stdin.write(b"Think slowly.\n")
        child.stdin.flush()
        shown.wait_for("Thinking it over")
        child.send_signal(signal.SIGINT)
        shown.wait_for("[stopped]")
        child.stdin.write(b"/quit\n")
        child.stdin.close()
        status = child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)

    errors.wait_for("Chatting with Helper")
    assert status == 0
    assert len(guest.sent("POST", cancel)) == 1
    assert "error" not in errors.text
