"""The client's pieces: SSE parsing, error lines, the config file, and what it does with
answers that are too large, too slow, malformed or cut (against a stand-in platform)."""

from __future__ import annotations

import json
import socket
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_platform_cli.client import ApiError, BadAnswer, Limits, PlatformClient, parse_sse
from agent_platform_cli.config import ConfigError, load
from agent_platform_cli.render import table, width
from tests.agent_platform_cli.conftest import run_cli
from tests.agent_platform_cli.fake_platform import (
    AGENT,
    FakePlatform,
    answer,
    answer_frames,
    frame,
    stream,
)


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


# -- bounds: what the client reads, and for how long ----------------------------------------

MIB = 1 << 20


def _endless(head: bytes, mebibytes: int) -> Iterator[bytes]:
    yield head
    piece = b"x" * 65536
    for _ in range(mebibytes * 16):
        yield piece


def _peak_bytes_while(call: Callable[[], object]) -> tuple[int, BaseException | None]:
    """The most memory Python held while `call` ran, and what it raised."""
    tracemalloc.start()
    raised: BaseException | None = None
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned to the test, which asserts on it
        raised = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, raised


def test_an_sse_line_over_1_mib_stops_the_stream_in_bounded_memory(fake: FakePlatform) -> None:
    fake.on("POST", "/v1/answer", stream(_endless(b"event: message.delta\ndata: ", 32)))
    client = PlatformClient(fake.url)

    peak, raised = _peak_bytes_while(lambda: list(client.stream_events("/v1/answer", {})))

    assert isinstance(raised, BadAnswer)
    assert str(raised) == "the answer stream sent a line longer than 1 MiB; it was closed"
    assert peak < 8 * MIB


def test_a_json_answer_over_8_mib_is_refused_in_bounded_memory(fake: FakePlatform) -> None:
    fake.on("GET", "/v1/agents", stream(_endless(b'{"agents": [], "x": "', 64), then="close"))
    client = PlatformClient(fake.url)

    peak, raised = _peak_bytes_while(lambda: client.request("GET", "/v1/agents"))

    assert isinstance(raised, BadAnswer)
    assert "larger than 8 MiB" in str(raised)
    assert peak < 24 * MIB


def test_a_json_answer_declared_over_8_mib_is_a_sentence_from_the_cli(guest: FakePlatform) -> None:
    huge = json.dumps({"agents": [AGENT], "padding": "x" * (9 * MIB)}).encode()
    guest.on("GET", "/v1/agents", answer(200, huge))

    result = run_cli("agents", "list")

    assert result.status == 1
    assert result.out == ""
    assert result.err.startswith("error: the answer to GET /v1/agents is larger than 8 MiB")


@pytest.mark.parametrize("then", ["keepalives", "silence"])
def test_a_stream_with_no_event_for_the_idle_limit_ends_with_a_sentence(
    fake: FakePlatform, then: str
) -> None:
    fake.on("POST", "/v1/answer", stream(answer_frames("Thinking")[:2], then=then))
    client = PlatformClient(fake.url, limits=Limits(stream_idle_seconds=0.5))
    seen: list[str] = []

    with pytest.raises(BadAnswer) as raised:
        for name, _ in client.stream_events("/v1/answer", {}):
            seen.append(name)

    assert seen == ["message.created", "message.delta"]
    assert str(raised.value) == (
        "the answer stream sent no event for 0.5 s (only keep-alives, or nothing); it was closed"
    )


# -- malformed answers and broken connections -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "is not JSON (text/html)"),
        (b"[" * 100_000, "application/json", "is not JSON"),
        (b"[1, 2]", "application/json", "the whole answer: Input should be"),
        (b'{"agents": "none"}', "application/json", "agents: Input should be a valid list"),
        (b'{"agents": [{"id": 5, "name": "x", "model": "m"}]}', "application/json", "agents.0.id"),
    ],
)
def test_a_malformed_answer_is_one_sentence_not_a_traceback(
    guest: FakePlatform, body: bytes, content_type: str, said: str
) -> None:
    guest.on("GET", "/v1/agents", answer(200, body, content_type=content_type))

    result = run_cli("agents", "list")

    assert result.status == 1
    assert result.err.startswith("error: the ")
    assert "GET /v1/agents" in result.err
    assert said in result.err
    assert result.err.count("\n") == 1


def test_a_malformed_event_mid_answer_is_a_sentence_and_the_chat_goes_on(
    guest: FakePlatform,
) -> None:
    frames = answer_frames("fine")
    frames.insert(2, frame("message.delta", {"messageId": "msg_1", "text": 5}))
    guest.on("POST", "/v1/conversations/cnv_1/messages", stream(frames))

    result = run_cli("chat", "Helper", stdin="one\ntwo\n/quit\n")

    assert result.status == 0
    assert result.err.count("a message.delta event is not what this client expects: text:") == 2
    assert len(guest.sent("POST", "/v1/conversations/cnv_1/messages")) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_a_sentence_with_exit_status_3(home: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"

    session = run_cli("--base-url", url, "session", "new")

    assert session.status == 3
    assert session.err == (
        f"error: cannot reach {url} (connection refused): is `make run` running?\n"
    )


def test_a_connection_cut_mid_answer_is_a_sentence(guest: FakePlatform) -> None:
    def cut(handler: Any, request: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b'{"agents": [')
        handler.close_connection = True

    guest.on("GET", "/v1/agents", cut)

    result = run_cli("agents", "list")

    assert result.status == 1
    assert result.err.startswith(f"error: the connection to {guest.url} broke (")
    assert result.err.count("\n") == 1
