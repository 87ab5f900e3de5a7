"""The continuation's model call: a prefill continued as an uncut answer would have gone
on, offline exactly, and joined to the text so far without doubled or lost whitespace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.agents import store as agents
from shared.chat import conversations, send
from shared.chat import runs as chat_runs
from shared.core import state
from shared.llm import model
from shared.llm.budget import Unmetered
from shared.llm.model import _Joint
from shared.llm.offline import offline_answer, offline_continuation
from tests.support.messages_api import point_model_at

SYSTEM = "You plan releases."
MESSAGES = [{"role": "user", "content": "What should we check before Friday's release?"}]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    monkeypatch.setenv("OFFLINE_CHUNK_DELAY_MS", "0")
    state.reset()
    yield
    monkeypatch.undo()
    state.reset()


def chunks_of(prefill: str = "", max_tokens: int = 1024) -> model.ModelStream:
    return model.stream(
        SYSTEM, MESSAGES, "claude-test", max_tokens, budget=Unmetered(), prefill=prefill
    )


def test_every_cut_of_an_offline_answer_is_continued_to_the_same_text(offline: None) -> None:
    whole = chunks_of()
    pieces = list(whole)

    for cut in range(len(pieces) + 1):
        prefill = "".join(pieces[:cut])
        continued = chunks_of(prefill)

        assert list(continued) == pieces[cut:]
        assert continued.text == whole.text
        assert continued.stop_reason == "end_turn"


def test_the_output_of_both_parts_adds_up_to_the_uncut_answers(offline: None) -> None:
    whole = chunks_of()
    pieces = list(whole)
    first = chunks_of()
    for _ in zip(range(3), first, strict=False):
        pass
    first.close()

    continued = chunks_of("".join(pieces[:3]))
    list(continued)

    assert first.output_tokens + continued.output_tokens == whole.output_tokens
    assert continued.input_tokens > whole.input_tokens  # the prefill is sent as input


def test_the_longest_answer_stops_a_continuation_where_it_stopped_the_uncut_one(
    offline: None,
) -> None:
    whole = chunks_of(max_tokens=12)
    pieces = list(whole)
    first = chunks_of(max_tokens=12)
    taken = [chunk for _, chunk in zip(range(1), first, strict=False)]

    continued = chunks_of("".join(taken), max_tokens=12 - first.output_tokens)

    assert taken + list(continued) == pieces
    assert continued.stop_reason == whole.stop_reason == "max_tokens"


def test_a_prefill_the_offline_model_would_not_have_written_is_left_as_it_is() -> None:
    assert offline_continuation(SYSTEM, MESSAGES, "Another model began ") == ""
    assert offline_continuation(SYSTEM, MESSAGES, "") == offline_answer(SYSTEM, MESSAGES)


def test_the_prefill_is_sent_as_the_final_assistant_turn_without_trailing_whitespace() -> None:
    request = chunks_of("Here is a plan:\n\n").request()

    assert request["messages"] == [
        *MESSAGES,
        {"role": "assistant", "content": "Here is a plan:"},
    ]
    assert chunks_of("   ").request()["messages"] == MESSAGES  # nothing to continue


@pytest.mark.parametrize(
    ("prefill", "model_writes", "joined"),
    [
        ("Check the ", ["", " ", "tests first."], "Check the tests first."),
        ("Check the", [" tests", " first."], "Check the tests first."),
        ("Plan:\n\n", ["\n", "\n1. Tests"], "Plan:\n\n1. Tests"),
        ("Plan:\n\n", ["\n\n\n1. Tests"], "Plan:\n\n\n1. Tests"),
        ("Check the ", ["\ntests"], "Check the tests"),
        ("", ["  Hello"], "  Hello"),
    ],
)
def test_the_continuation_meets_the_prefill_at_the_whitespace_it_was_sent_without(
    prefill: str, model_writes: list[str], joined: str
) -> None:
    joint = _Joint(prefill)

    assert prefill + "".join(joint.after(piece) for piece in model_writes) == joined


def test_the_history_read_back_for_a_continuation_is_the_one_the_run_was_given(
    firestore_db: Any, offline: None
) -> None:
    agent = agents.create_agent("usr_owner", agents.AgentCreate(name="Helper"))
    conversation = conversations.create_conversation("usr_owner", agent.id, "")
    for text in ("first question", "second question"):
        chat_runs.start("usr_owner", conversation.id, text).exchange()
    run = chat_runs.start("usr_owner", conversation.id, "third question")
    assert isinstance(run.reply, model.ModelStream)

    budget = model.get_model_settings().chat_history_token_budget
    again = send.turns_up_to(conversation.id, run.question.seq, budget)

    assert again == run.reply.messages
    run.abandon()
