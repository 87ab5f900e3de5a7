"""What reaches the terminal: the platform's text without control sequences, JSON that
stays safe to print, and colour only where it is wanted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from agent_platform_cli.main import main
from agent_platform_cli.render import clean
from tests.agent_platform_cli.conftest import run_cli
from tests.agent_platform_cli.fake_platform import (
    AGENT,
    FakePlatform,
    answer,
    answer_frames,
    stream,
)

OSC_52_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
SET_TITLE = "\x1b]0;pwned\x1b\\"
CLEAR_SCREEN = "\x1b[2J\x1b[H"
RED = "\x1b[31m"
C1_CSI = "\x9b1;31m"
CONTROLS = ("\x1b", "\x07", "\x9b", "\x9d", "\r", "\x08", "\x00", "\x7f")


def test_clean_drops_escape_sequences_and_control_characters_but_keeps_the_text() -> None:
    hostile = (
        f"{RED}red{CLEAR_SCREEN} {OSC_52_CLIPBOARD}clip {SET_TITLE}title "
        f"{C1_CSI}c1 bell\x07 over\rwrite back\x08space nul\x00 del\x7f "
        "\x1bPdcs string\x1b\\ 안녕 🎉\tdone\nline\r\nend"
    )

    cleaned = clean(hostile)

    assert cleaned == "red clip title c1 bell overwrite backspace nul del  안녕 🎉\tdone\nline\nend"


def test_an_escape_split_over_two_answer_pieces_never_reaches_the_terminal() -> None:
    first, second = "text \x1b]52;c;", "Y3VybA==\x07 more"

    shown = clean(first) + clean(second)

    assert not any(control in shown for control in CONTROLS)


def test_a_hostile_chat_answer_cannot_write_the_clipboard_set_the_title_or_clear_the_screen(
    guest: FakePlatform,
) -> None:
    pieces = ("Sure", OSC_52_CLIPBOARD, " here\x1b]52;c;", "Y3VybA==\x07 it is", SET_TITLE)
    frames = answer_frames(*pieces, CLEAR_SCREEN + "done\x07")
    guest.on("POST", "/v1/conversations/cnv_1/messages", stream(frames))

    result = run_cli("chat", "Helper", stdin="hello\n/quit\n")

    assert result.status == 0, result.err
    assert "Sure here" in result.out
    assert "done" in result.out
    for control in CONTROLS:
        assert control not in result.out
        assert control not in result.err


def test_agent_names_and_error_messages_from_the_platform_are_shown_without_controls(
    guest: FakePlatform,
) -> None:
    named = {**AGENT, "name": f"{RED}Helper{SET_TITLE}", "persona": f"auto{CLEAR_SCREEN}"}
    guest.on("GET", "/v1/agents", answer(200, {"agents": [named]}))
    refusal = {"error": {"code": "conflict", "message": f"busy{OSC_52_CLIPBOARD}\x07 now"}}
    guest.on("POST", "/v1/agents", answer(409, refusal))

    listed = run_cli("agents", "list")
    refused = run_cli("agents", "create", "Another")

    assert "Helper" in listed.out
    assert "busy now" in refused.err
    for control in CONTROLS:
        assert control not in listed.out + refused.err


def test_json_output_escapes_the_control_characters_json_leaves_raw(guest: FakePlatform) -> None:
    named = {**AGENT, "name": "C1\x9b31m and DEL\x7f and 한글"}
    guest.on("GET", "/v1/agents", answer(200, {"agents": [named]}))

    result = run_cli("agents", "list", "--json")

    assert "\x9b" not in result.out
    assert "\x7f" not in result.out
    assert "한글" in result.out
    assert json.loads(result.out)["agents"][0]["name"] == named["name"]


class Terminal:
    """A captured stream that says it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def _error_on(stream_is_terminal: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    """Standard error of a command that fails (no session), on a terminal or a pipe."""
    err: Terminal | io.StringIO = Terminal() if stream_is_terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    main(["agents", "list"])
    return err.text if isinstance(err, Terminal) else err.getvalue()


def test_errors_are_red_on_a_terminal_and_plain_with_no_color_or_on_a_pipe(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TERM", raising=False)
    on_terminal = _error_on(True, monkeypatch)
    on_pipe = _error_on(False, monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    with_no_color = _error_on(True, monkeypatch)

    assert on_terminal.startswith("\x1b[1;31merror: \x1b[0m")
    assert "\x1b" not in on_pipe
    assert "\x1b" not in with_no_color
    assert with_no_color.startswith("error: no guest session")
