"""`make eval-commands`: the labelled set is big enough, and the offline planner meets 90 %."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from shared.core import state
from tests.support.messages_api import point_model_at
from tools import eval_commands


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    state.reset()


def test_the_set_has_150_commands_in_both_languages_with_distractors() -> None:
    samples = eval_commands.load_samples()

    assert len(samples) >= 150
    assert Counter(s.lang for s in samples).keys() == {"en", "ko"}
    assert sum(s.tool is None for s in samples) >= 30
    assert len({s.tool for s in samples if s.tool}) == 9  # every tool of the registry


def test_the_offline_planner_is_right_on_at_least_90_percent(offline: None) -> None:
    results = eval_commands.evaluate()

    assert eval_commands.accuracy(results) >= 0.9
    assert eval_commands.accuracy(results, arguments=True) >= 0.9
    assert eval_commands.main([]) == 0
