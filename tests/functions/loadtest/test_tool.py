"""`make loadtest`'s table (tools/loadtest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tools import loadtest as tool


def run(**overrides: Any) -> dict[str, Any]:
    figures = {"requests": 40, "failures": 2, "p50Ms": 3.2, "p95Ms": 9.9, "p99Ms": 12.0}
    figures |= {"maxMs": 15.5, "rps": 4.0}
    body = {
        "runId": "ltr_1",
        "scenario": "light",
        "users": 2,
        "endpoints": {"GET /v1/agents": figures},
        "totals": {"requests": 40, "failures": 2, "rps": 4.0, "elapsedSeconds": 10.0},
        "verdict": "fail",
        "regression": True,
        "baselineRuns": 3,
        "breaches": ["GET /v1/agents: failure ratio 0.05 > 0.01"],
        "regressions": ["GET /v1/agents: p95 9.9ms vs median 4ms of 3 runs"],
    }
    body["totals"]["stoppedBy"] = "duration"
    return body | overrides


def test_table_lists_each_endpoint_with_its_figures() -> None:
    text = tool.table(run())

    row = next(line for line in text.splitlines() if line.startswith("GET /v1/agents"))
    assert row.split()[2:] == ["40", "2", "3.2", "9.9", "12.0", "15.5", "4.0"]


def test_table_states_verdict_breaches_and_regressions() -> None:
    text = tool.table(run())

    assert "verdict: FAIL  regression vs 3 previous runs" in text
    assert "breach: GET /v1/agents: failure ratio 0.05 > 0.01" in text
    assert "regression: GET /v1/agents: p95 9.9ms vs median 4ms of 3 runs" in text


def test_the_tool_needs_the_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)

    assert tool.main(["--scenario", "light"]) == 2
