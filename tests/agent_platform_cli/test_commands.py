"""Every command of `agent-platform` against the local stack (`make run`'s processes),
including a chat interrupted with Ctrl-C while an answer streams."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_platform_cli.main import main
from tests.conftest import E2E_ADMIN_TOKEN, ROOT, SLOW_REPLY, RunningStack, StackPeers

pytestmark = pytest.mark.e2e


@pytest.fixture
def config_home(tmp_path: Path, local_stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("AGENT_PLATFORM_URL", local_stack.url)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the command in this process; its status, standard output and standard error."""
    capsys.readouterr()
    original = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = main(list(argv))
    finally:
        sys.stdin = original
    out, err = capsys.readouterr()
    return status, out, err


def saved_config(home: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((home / "agent-platform" / "config.json").read_text())
    return config


def new_agent(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    status, out, err = cli(capsys, "agents", "create", *extra)
    assert status == 0, err
    return out.split()[2]


def test_session_new_keeps_the_token_in_the_config_file_only(
    config_home: Path, local_stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = cli(capsys, "session", "new")

    token = saved_config(config_home)["platforms"][local_stack.url]["sessionToken"]
    assert status == 0
    assert token.startswith("gst_")
    assert token not in out
    assert "expires" in out
    assert cli(capsys, "session", "show")[0] == 0


def test_agents_are_created_listed_and_deleted(
    config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "session", "new")

    agent_id = new_agent(capsys, "도우미 🤖", "--persona", "auto", "--model", "offline")
    listed = cli(capsys, "agents", "list")
    deleted = cli(capsys, "agents", "delete", "도우미 🤖")
    after = cli(capsys, "agents", "list")

    assert agent_id.startswith("agt_")
    assert listed[0] == 0
    assert agent_id in listed[1]
    assert "도우미 🤖" in listed[1]
    assert deleted[0] == 0
    assert agent_id in deleted[1]
    assert agent_id not in after[1]


def test_route_prints_the_persona_four_scores_and_the_reasoning(
    config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "session", "new")

    status, out, _ = cli(capsys, "route", "Our p95 latency doubled after the deploy; why?")

    score_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert status == 0
    assert out.startswith("persona ")
    assert len(score_lines) == 4
    assert "resonance " in out
    assert "reasoning " in out


def test_chat_streams_the_answer_to_piped_messages(
    config_home: Path, stack_peers: StackPeers, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_peers.messages_api.reset()
    cli(capsys, "session", "new")
    new_agent(capsys, "Echo", "--persona", "auto")

    status, out, err = cli(capsys, "chat", "Echo", stdin="안녕하세요 🎉\n/quit\n")

    assert status == 0, err
    assert "assistant [" in out
    assert stack_peers.messages_api.reply in out
    assert "tokens in" in err


class Output:
    """A child's standard output, collected by a thread as it arrives."""

    def __init__(self, stream: Any) -> None:
        self.text = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            self._chunks.put(chunk.decode(errors="replace"))

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{needle!r} never came; got {self.text!r}"
            try:
                self.text += self._chunks.get(timeout=remaining)
            except queue.Empty:
                continue
        return self.text


def test_ctrl_c_stops_the_streaming_answer_and_the_chat_goes_on(
    config_home: Path,
    local_stack: RunningStack,
    slow_model: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli(capsys, "session", "new")
    agent_id = new_agent(capsys, "Slow")
    child = subprocess.Popen(
        [sys.executable, "-m", "agent_platform_cli.main", "chat", agent_id],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    assert child.stdin is not None
    output = Output(child.stdout)
    try:
        child.stdin.write(b"Tell me slowly.\n")
        child.stdin.flush()
        output.wait_for(SLOW_REPLY[:8])
        child.send_signal(signal.SIGINT)
        shown = output.wait_for("[stopped]")
        child.stdin.write(b"/quit\n")
        child.stdin.close()
        status = child.wait(20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)

    answer = shown.split("> ", 1)[1].split("[stopped]")[0].strip()
    assert status == 0
    assert 0 < len(answer) < len(SLOW_REPLY.strip())
    token = saved_config(config_home)["platforms"][local_stack.url]["sessionToken"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=local_stack.url, headers=headers, timeout=10) as http:
        conversation = http.get("/v1/conversations", params={"agentId": agent_id}).json()
        path = f"/v1/conversations/{conversation['conversations'][0]['id']}/messages"
        deadline = time.monotonic() + 15
        stored = http.get(path).json()["messages"][-1]
        while stored["status"] == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = http.get(path).json()["messages"][-1]
    assert stored["status"] == "cancelled"  # Ctrl-C asks the platform to cancel it


def test_loadtest_run_shows_progress_then_the_percentile_table(
    config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "operator", "set", stdin=E2E_ADMIN_TOKEN + "\n")[0] == 0

    status, out, err = cli(capsys, "loadtest", "run", "--scenario", "light", "--duration", "2")
    run_id = out.split()[1]
    listed = cli(capsys, "loadtest", "list")
    alerts = cli(capsys, "alerts", "list")

    # The verdict depends on how busy this machine is; the status must say which it was.
    verdict = out.splitlines()[0].split(": ", 1)[1].split(";")[0].split(",")[0]
    assert (verdict, status) in {("PASS", 0), ("FAIL", 4)}, err
    assert "load test light [" in err
    assert "100%" in err
    assert "P50 MS  P95 MS  P99 MS" in out
    assert "POST /v1/sessions" in out
    assert run_id in listed[1]
    assert alerts[0] == 0


def test_errors_are_one_line_with_a_status_that_says_what_failed(
    config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_session = cli(capsys, "agents", "list")
    unreachable = cli(capsys, "--base-url", "http://127.0.0.1:9", "session", "new")
    wrong_operator = cli(capsys, "operator", "set", stdin="not-the-token\n")
    refused = cli(capsys, "alerts", "list")

    for _, _, err in (no_session, unreachable, refused):
        assert err.startswith("error: ")
        assert err.count("\n") == 1
    assert no_session[0] == refused[0] == 1
    assert unreachable[0] == 3
    assert "session new" in no_session[2]
    assert wrong_operator[0] == 0
    assert "(HTTP 401, request " in refused[2]


def test_a_usage_mistake_exits_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["agents", "frobnicate"])

    assert exit_info.value.code == 2


def test_the_console_script_is_installed_with_the_project() -> None:
    script = Path(sys.executable).parent / "agent-platform"

    done = subprocess.run(
        [str(script), "--help"], check=False, capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 0
    assert "session" in done.stdout
