"""The medians of several bench runs, from the JSON `make bench` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import medians


def run(p50: float, rps: float, cold: float) -> dict[str, Any]:
    warm = [
        {
            "route": "GET /v1/agents",
            "platform": {"latencyMs": {"median": p50}, "throughput": {"rps": rps}},
            "fastapi": {"latencyMs": {"median": 10.0}, "throughput": {"rps": 100.0}},
        }
    ]
    return {"warm": warm, "coldStart": [{"entry": "agents", "ratio": cold}]}


def test_each_cell_is_the_median_of_the_runs_ratios(tmp_path: Path) -> None:
    paths = []
    for index, figures in enumerate([(5.0, 150.0, 1.2), (10.0, 90.0, 1.5), (8.0, 130.0, 1.1)]):
        path = tmp_path / f"bench-{index}.json"
        path.write_text(json.dumps(run(*figures)))
        paths.append(path)
    (tmp_path / "bench-9.json").write_text(json.dumps({"warm": [], "coldStart": []}))

    runs = medians.newest_full_runs(3, tmp_path)
    text = medians.render(runs)

    assert [r["file"] for r in runs] == ["bench-0.json", "bench-1.json", "bench-2.json"]
    # p50: 10/5, 10/10, 10/8 -> median 1.25; rps: 1.5, 0.9, 1.3 -> 1.3; cold 1.2
    assert "| GET /v1/agents p50 | 1.25x | 2.00x | 1.00x | 1.25x | yes |" in text
    assert "| GET /v1/agents rps | 1.30x | 1.50x | 0.90x | 1.30x | yes |" in text
    assert "| agents | 1.20x | 1.20x | 1.50x | 1.10x | yes |" in text


def test_a_median_short_of_the_goal_is_marked(tmp_path: Path) -> None:
    runs = [run(10.0, 110.0, 1.4) | {"file": "a.json"}]
    text = medians.render(runs)
    assert "| GET /v1/agents p50 | 1.00x | 1.00x | **no** |" in text
    assert "| agents | 1.40x | 1.40x | **no** |" in text


def test_entries_no_bare_function_can_match_are_listed_apart() -> None:
    exempt = run(10.0, 100.0, 2.2)
    exempt["coldStart"][0]["notComparable"] = "loads the MCP SDK"
    text = medians.render([exempt | {"file": "a.json"}])
    assert "| agents |" not in text
    assert "Not held to the budget: agents, which loads the MCP SDK." in text
