"""Every model call is covered by a budget before it is sent (`shared.llm.budget`)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from shared.core import errors
from shared.llm import budget, model, tool_use
from shared.llm.budget import BudgetRefused, Unmetered

SHARED = Path(__file__).resolve().parents[3] / "shared"


class Refusing:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def cover(self, tokens: int) -> None:
        self.asked.append(tokens)
        raise errors.RateLimited("daily token budget of this guest: the limit is 1", retry_after=7)

    def spent(self, tokens: int) -> None:
        raise AssertionError("a refused call spends nothing")


@pytest.mark.parametrize(
    "entry",
    [
        model.ModelStream,
        model.stream,
        model.complete,
        tool_use.ToolTurn,
        tool_use.answer_chooses_tool,
    ],
)
def test_every_model_entry_requires_a_budget(entry: object) -> None:
    parameter = inspect.signature(entry).parameters["budget"]  # type: ignore[arg-type]

    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


def test_only_the_model_layer_sends_to_the_messages_api() -> None:
    senders = {
        path.relative_to(SHARED).as_posix()
        for path in SHARED.rglob("*.py")
        if re.search(r"messages\.create\(|anthropic\.Anthropic\(", path.read_text())
    }

    assert senders == {"llm/model.py", "llm/tool_use.py", "llm/anthropic_api.py"}


def test_a_refused_stream_sends_nothing_and_says_rate_limited() -> None:
    refusing = Refusing()
    answer = model.stream("sys", [{"role": "user", "content": "hi"}], "offline", budget=refusing)

    with pytest.raises(BudgetRefused) as refused:
        list(answer)

    assert refused.value.status == 429 and refused.value.error_code == "rate_limited"
    assert refused.value.retry_after == 7
    sent = model.build_request("sys", [{"role": "user", "content": "hi"}], "offline", 1024)
    assert refusing.asked == [budget.request_tokens(sent)]
    assert answer.text == ""


def test_a_stream_covers_its_worst_case_and_reports_what_it_spent() -> None:
    metered = Unmetered()

    answer = model.stream(
        "sys", [{"role": "user", "content": "hello there"}], "offline", 64, budget=metered
    )
    list(answer)

    assert metered.covered >= 64
    assert metered.used == answer.input_tokens + answer.output_tokens > 0


def test_the_worst_case_counts_three_bytes_a_token_at_most() -> None:
    assert budget.tokens_for(3000, 100) == 1100
    assert budget.tokens_for(3001, 0) == 1001
    korean = "안녕하세요" * 100  # 1,500 bytes of UTF-8
    request = model.build_request("", [{"role": "user", "content": korean}], "m", 10)
    assert budget.request_tokens(request) >= 10 + 1500 // 3
