"""The model layer through the real `anthropic` SDK against a local Messages API server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from shared.core import state
from shared.llm import model
from shared.llm.budget import Unmetered
from shared.llm.offline import offline_answer
from tests.conftest import ROOT
from tests.support.messages_api import FakeMessagesApi, point_model_at

TURNS = [{"role": "user", "content": "What is a good name for a cat?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMessagesApi]:
    fake = FakeMessagesApi().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesApi]:
    server.reset()
    point_model_at(monkeypatch, server)
    yield server
    monkeypatch.undo()
    state.reset()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    state.reset()


def test_stream_yields_the_servers_chunks_and_usage(fake: FakeMessagesApi) -> None:
    answer = model.stream("Be brief.", TURNS, "claude-test", 256, budget=Unmetered())

    chunks = list(answer)

    assert len(chunks) == fake.chunks
    assert "".join(chunks) == fake.reply
    reply = answer.reply()
    assert (reply.model, reply.stop_reason) == ("claude-test", "end_turn")
    assert reply.input_tokens == fake.input_tokens
    assert reply.output_tokens == len(fake.reply) // 4


def test_system_prompt_is_sent_as_a_cached_block(fake: FakeMessagesApi) -> None:
    list(model.stream("You are kind.", TURNS, "claude-test", 100, budget=Unmetered()))

    sent = fake.requests[0].body
    assert sent["system"] == [
        {"type": "text", "text": "You are kind.", "cache_control": {"type": "ephemeral"}}
    ]
    assert sent["messages"] == TURNS
    assert (sent["model"], sent["max_tokens"], sent["stream"]) == ("claude-test", 100, True)
    assert fake.requests[0].api_key == "sk-test-key"


def test_complete_uses_the_json_form(fake: FakeMessagesApi) -> None:
    reply = model.complete("sys", TURNS, "claude-test", budget=Unmetered())

    assert reply.text == fake.reply
    assert "stream" not in fake.requests[0].body
    assert reply.input_tokens == fake.input_tokens
    assert reply.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (429, model.ModelUnavailable, "model_rate_limited"),
        (529, model.ModelUnavailable, "model_overloaded"),
        (500, model.ModelFailed, "model_error"),
    ],
)
def test_api_errors_after_the_sdk_retries_become_platform_errors(
    fake: FakeMessagesApi, status: int, kind: type[Exception], code: str
) -> None:
    fake.fail = status

    with pytest.raises(kind) as raised:
        list(model.stream("sys", TURNS, "claude-test", budget=Unmetered()))

    assert raised.value.error_code == code  # type: ignore[attr-defined]
    assert raised.value.retry_after == 7  # type: ignore[attr-defined]
    assert len(fake.requests) == 1 + model.get_model_settings().anthropic_max_retries


def test_a_transient_error_is_retried_by_the_sdk(fake: FakeMessagesApi) -> None:
    fake.fail, fake.fail_times = 529, 1

    reply = model.complete("sys", TURNS, "claude-test", budget=Unmetered())

    assert reply.text == fake.reply
    assert len(fake.requests) == 2


def test_a_stream_cut_midway_keeps_the_partial_text(fake: FakeMessagesApi) -> None:
    fake.fail = "cut"
    answer = model.stream("sys", TURNS, "claude-test", budget=Unmetered())
    received: list[str] = []

    with pytest.raises(model.ModelFailed) as raised:
        received.extend(answer)

    assert raised.value.error_code == "model_stream_cut"
    assert received
    assert answer.text == "".join(received)
    assert fake.reply.startswith(answer.text) and answer.text != fake.reply


def test_a_server_slower_than_the_timeout_is_model_timeout(
    fake: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_model_at(monkeypatch, fake, ANTHROPIC_TIMEOUT_SECONDS="0.2", ANTHROPIC_MAX_RETRIES="0")
    fake.fail, fake.first_chunk_delay = "hang", 1.0

    with pytest.raises(model.ModelUnavailable) as raised:
        list(model.stream("sys", TURNS, "claude-test", budget=Unmetered()))

    assert raised.value.error_code == "model_timeout"


def test_closing_the_stream_stops_reading(fake: FakeMessagesApi) -> None:
    fake.chunks = 8
    answer = model.stream("sys", TURNS, "claude-test", budget=Unmetered())
    chunks = iter(answer)

    first = next(chunks)
    chunks.close()  # type: ignore[attr-defined]

    assert answer.text == first
    assert answer.stop_reason is None


def test_a_rotated_secret_is_read_again_after_a_401(
    fake: FakeMessagesApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.gcp import secret_manager

    versions = iter(["sk-old", "sk-new"])
    monkeypatch.setattr(secret_manager, "access", lambda name, max_age: next(versions))
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", "projects/p/secrets/anthropic-api-key")
    state.reset()
    fake.api_key = "sk-new"

    reply = model.complete("sys", TURNS, "claude-test", budget=Unmetered())

    assert reply.text == fake.reply
    assert [r.api_key for r in fake.requests] == ["sk-old", "sk-new"]


def test_offline_model_is_deterministic_and_chunked(offline: None) -> None:
    first = model.stream("sys", TURNS, "claude-test", budget=Unmetered())
    chunks = list(first)
    again = model.complete("sys", TURNS, "claude-test", budget=Unmetered())

    assert len(chunks) > 1
    assert first.model == again.model == "offline"
    assert first.text == again.text
    assert first.output_tokens > 0 and first.stop_reason == "end_turn"


def test_offline_model_answers_differently_to_different_input(offline: None) -> None:
    one = offline_answer("sys", TURNS)
    other = offline_answer("sys", [{"role": "user", "content": "Tell me about rivers"}])

    assert one != other
    assert "rivers" in other


def test_the_offline_model_name_skips_the_api_even_with_a_key(fake: FakeMessagesApi) -> None:
    reply = model.complete("sys", TURNS, "offline", budget=Unmetered())

    assert reply.model == "offline"
    assert fake.requests == []


def test_importing_the_model_layer_does_not_import_anthropic() -> None:
    code = "import sys, shared.llm.model; print('anthropic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_estimate_is_about_four_characters_a_token() -> None:
    assert model.estimate_tokens("x" * 400) == 100
    assert model.estimate_tokens("") == 1


def test_warm_up_imports_the_sdk_in_the_background_only_with_a_key() -> None:
    code = (
        "import sys, threading, shared.llm.model as m; m.warm_up(); "
        "[t.join() for t in threading.enumerate() if t.name == 'anthropic-warm-up']; "
        "print('anthropic' in sys.modules)"
    )
    answers = []
    for key in ("", "sk-test"):
        env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": key} if key else {"PATH": "/usr/bin"}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        answers.append(result.stdout.strip())

    assert answers == ["False", "True"]


def test_the_offline_model_answers_in_the_language_of_the_message() -> None:
    korean = offline_answer("", [{"role": "user", "content": "내일 발표가 너무 떨려요"}])
    english = offline_answer("", [{"role": "user", "content": "How should we shard Postgres?"}])

    assert "쓰셨네요" in korean and "You wrote" not in korean
    assert (
        english.startswith(("Here", "Good", "Thanks", "Let me")) and "You wrote 5 words" in english
    )
