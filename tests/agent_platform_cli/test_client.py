"""The client's pieces that need no platform: SSE parsing, error lines, the config file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agent_platform_cli.client import ApiError, parse_sse
from agent_platform_cli.config import ConfigError, load
from agent_platform_cli.render import table, width


def test_sse_frames_become_events_and_unknown_data_is_skipped() -> None:
    lines = [
        ": a comment",
        "event: message.delta",
        'data: {"text": "안녕 🎉"}',
        "",
        "event: custom",
        "data: not json",
        "",
        "id: 7",
        "event: done",
        "data: {}",
    ]

    assert list(parse_sse(iter(lines))) == [("message.delta", {"text": "안녕 🎉"}), ("done", {})]


def test_an_error_line_says_the_status_and_when_to_retry() -> None:
    error = ApiError("too many chat messages", status=429, retry_after=12)

    assert str(error) == "too many chat messages (HTTP 429, retry in 12 s)"


def test_tokens_are_saved_per_platform_readable_by_the_user_alone(tmp_path: Path) -> None:
    config = load(tmp_path / "agent-platform" / "config.json")
    config.platform("http://127.0.0.1:8080/").session_token = "gst_local"
    config.platform("https://agents.example.test").operator_token = "op"

    config.save()
    again = load(config.path)

    assert stat.S_IMODE(config.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.path.parent.stat().st_mode) == 0o700
    assert again.platform("http://127.0.0.1:8080").session_token == "gst_local"
    assert again.platform("https://agents.example.test").operator_token == "op"
    assert json.loads(config.path.read_text())["platforms"]["https://agents.example.test"] == {
        "operatorToken": "op"
    }


def test_an_unreadable_config_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2")

    with pytest.raises(ConfigError, match="not a valid config file"):
        load(path)


def test_tables_align_korean_and_emoji_by_their_terminal_width() -> None:
    rendered = table(["NAME", "RUNS"], [["도우미 🤖", "3"], ["plain", "12"]], numeric={1})
    lines = rendered.splitlines()

    assert width("도우미 🤖") == 9
    assert len({width(line) for line in lines}) == 1
