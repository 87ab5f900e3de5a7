"""The chat entry's scaling follows the newest capacity measurement (`make bench`)."""

from __future__ import annotations

import json
import re
from typing import Any

from bench import capacity
from bench.run import RESULTS
from infra import manifest


def newest_capacity() -> dict[str, Any]:
    for path in sorted(RESULTS.glob("bench-*.json"), reverse=True):
        found = json.loads(path.read_text()).get("capacity") or {}
        if found.get("levels"):
            return {**found, "file": path.name}
    raise AssertionError("no bench run with a chat capacity section in bench/results")


def mebibytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", size).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_the_manifest_promises_no_more_streams_than_one_instance_held() -> None:
    found = newest_capacity()
    advice = capacity.recommend(found)
    chat = next(entry for entry in manifest.load().functions if entry.name == "chat")

    assert advice["concurrency"] is not None, f"{found['file']}: no level met the goal"
    assert chat.scaling.concurrency <= advice["concurrency"], (found["file"], advice)
    assert mebibytes(chat.scaling.memory) >= advice["memoryMiB"], (found["file"], advice)


def test_the_advice_is_the_largest_level_within_the_goal() -> None:
    def row(streams: int, p95: float | None, failures: int = 0) -> dict[str, Any]:
        return {
            "streams": streams,
            "failures": failures,
            "firstTokenAddedMsP95": p95,
            "peakRssMiB": 100.0 + streams,
        }

    levels = [row(1, 80), row(10, 500), row(20, 990), row(40, 1200), row(80, 700, failures=1)]
    advice = capacity.recommend({"levels": levels})

    assert advice["concurrency"] == 20
    assert advice["memoryMiB"] == 512  # 2 x 180 MiB peak
