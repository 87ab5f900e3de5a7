"""The `loadtest-results` topic: what a finished load-test run publishes and alerts read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.core.models import ApiModel

TOPIC = "loadtest-results"
SOURCE = "/functions/loadtest"
COMPLETED = "loadtest.completed"


class EndpointSummary(ApiModel):
    """What one endpoint did during a run."""

    requests: int = Field(ge=0)
    failures: int = Field(ge=0)
    failure_ratio: float = Field(ge=0, le=1)
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float = Field(description="Requests per second over the whole run.")


class LoadtestCompletedData(ApiModel):
    """`data` of `loadtest.completed` (camelCase on the wire)."""

    run_id: str
    scenario: str
    verdict: Literal["pass", "fail"]
    regression: bool
    breaches: list[str]
    regressions: list[str]
    endpoints: dict[str, EndpointSummary]
