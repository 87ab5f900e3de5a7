"""The cold-start floor replays an entry's first calls: the replay must make the same calls
(recorded by the same counting), or the cold-start ratios compare unequal work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench import coldstart, opcount
from bench.report import first_work


@pytest.fixture
def recording(firestore_db: Any) -> Iterator[Any]:
    opcount.install()
    yield firestore_db
    opcount.uninstall()


def test_a_replay_makes_the_calls_it_was_given(recording: Any) -> None:
    from bench.baselines import bare_replay

    coldstart.seed_replay()
    calls = [
        ["get", 2, False],
        ["query", 3],
        ["begin"],
        ["get", 1, True],
        ["commit", 2, 0, True],
        ["query", 0],
        ["commit", 1, 1, False],
        ["begin"],
        ["get", 1, True],
        ["rollback"],
    ]
    bare_replay.db = recording  # the suite's client on the emulator
    made_before = len(opcount.calls())

    bare_replay.replay(calls)

    assert opcount.calls()[made_before:] == calls


def test_first_work_names_the_calls() -> None:
    calls = [["begin"], ["get", 1, True], ["commit", 1, 0, True], ["query", 2], ["query", 0]]
    assert first_work(calls) == "1 transaction, 2 queries"
    assert first_work([["get", 1, False], ["publish"]]) == "1 get, 1 publish"
    assert first_work([]) == "none"
