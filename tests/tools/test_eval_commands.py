"""`make eval-commands`: the labelled sets, how a plan is scored, the report and its floors."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.core import state
from shared.tools import registry
from tests.support.messages_api import point_model_at
from tools import eval_commands
from tools.eval_commands import Result, Sample

DEV_SET = Path(__file__).resolve().parents[1] / "shared/tools/commands_dev.jsonl"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point_model_at(monkeypatch, None)
    yield
    monkeypatch.undo()
    state.reset()


def sample(tool: str | None, arguments: dict | None = None, **fields: str) -> Sample:
    return Sample("x1", fields.get("text", "..."), fields.get("lang", "en"), tool, arguments)


def test_the_set_has_150_commands_in_both_languages_with_distractors() -> None:
    samples = eval_commands.load_samples()

    assert len(samples) >= 150
    assert Counter(s.lang for s in samples).keys() == {"en", "ko"}
    assert sum(s.tool is None for s in samples) >= 30
    named = {s.tool for s in samples if s.tool}
    # Every tool of the registry before the function tools, and function_logs (two rows
    # relabelled when it came); tests/shared/tools/commands_functions.jsonl covers the rest.
    assert named <= {tool.name for tool in registry.all_tools()} and len(named) == 10


def test_a_new_set_with_kinds_and_snake_case_arguments_is_read() -> None:
    samples = eval_commands.load_samples(DEV_SET)

    assert {s.kind for s in samples} == {"plain", "hard"}
    assert any(s.arguments and "duration_minutes" in s.arguments for s in samples)


def test_the_offline_planner_is_right_on_at_least_90_percent(offline: None) -> None:
    results = eval_commands.evaluate()

    assert eval_commands.accuracy(results) >= 0.9
    assert eval_commands.accuracy(results, arguments=True) >= 0.9
    assert eval_commands.wrong_changing_share(results) == 0
    assert eval_commands.main([]) == 0


def test_labelled_arguments_match_once_validated_whatever_their_spelling() -> None:
    row = sample("create_silence", {"source": "chat", "duration_minutes": 90})

    assert Result(row, "create_silence", {"source": "chat", "durationMinutes": 90}).arguments_right
    assert not Result(row, "create_silence", {"source": "chat"}).arguments_right


def test_an_unlabelled_argument_must_be_the_tool_s_default() -> None:
    row = sample("active_alerts", {})

    assert Result(row, "active_alerts", {"limit": 10}).arguments_right  # the default
    assert not Result(row, "active_alerts", {"limit": 5}).arguments_right


def test_free_text_comment_is_not_compared() -> None:
    row = sample("create_silence", {"source": "deploy"})

    assert Result(row, "create_silence", {"source": "deploy", "comment": "any"}).arguments_right


def test_an_opposite_action_is_a_changing_tool_where_another_or_none_was_expected() -> None:
    unsilence = sample("expire_silence", {"silence_id": "sil_0a1b2c3d"})
    negated = sample(None)
    reading = sample("active_silences", {})
    silence = {"source": "chat"}

    assert Result(unsilence, "create_silence", silence).opposite
    assert Result(negated, "create_silence", silence).opposite
    assert not Result(reading, "create_silence", silence).opposite  # wrong, not opposite
    assert not Result(negated, "active_alerts", {}).opposite  # a read changes nothing


def test_wrong_changing_plans_are_a_share_of_the_changing_plans_made() -> None:
    results = [
        Result(sample("create_silence", {"source": "chat"}), "create_silence", {"source": "chat"}),
        Result(
            sample("create_silence", {"source": "chat"}), "create_silence", {"source": "deploy"}
        ),
        Result(sample(None), "start_loadtest", {"scenario": "light"}),
        Result(sample(None), None, None),
        Result(sample("active_alerts", {}), "active_silences", {}),
    ]

    assert eval_commands.wrong_changing_share(results) == pytest.approx(2 / 3)
    assert eval_commands.accuracy(results, arguments=True) == pytest.approx(2 / 5)
    assert sum(r.opposite for r in results) == 1


def test_the_report_breaks_down_by_language_kind_and_tool_with_a_confusion_matrix(
    offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert eval_commands.main(["--set", str(DEV_SET)]) == 0

    report = capsys.readouterr().out
    for line in ("by language:", "by kind:", "by expected tool:", "confusion (rows: expected"):
        assert line in report
    assert "opposite action planned: 0" in report
    assert "wrong changing plans:" in report


def test_a_floor_not_reached_exits_non_zero(offline: None, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.jsonl"
    rows = [
        {"id": "w1", "text": "mute chat alerts", "lang": "en", "kind": "plain"}
        | {"tool": "create_silence", "arguments": {"source": "deploy"}},
        {"id": "w2", "text": "list the alerts", "lang": "en", "kind": "plain"}
        | {"tool": "active_alerts", "arguments": {}},
    ]
    wrong.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")

    assert eval_commands.main(["--set", str(wrong), "--floor-tool-arguments", "0.5"]) == 0
    assert eval_commands.main(["--set", str(wrong), "--floor-tool-arguments", "0.9"]) == 1
    assert eval_commands.main(["--set", str(wrong), "--floor-right-changing", "0.5"]) == 1
