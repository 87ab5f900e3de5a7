"""What the operator tools answer about the platform's functions (camelCase JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from shared.core.models import ApiModel

# Cloud Logging's severities, lowest first; `DEFAULT` is an entry without one.
Severity = Literal[
    "DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"
]
SEVERITIES: tuple[str, ...] = Severity.__args__  # type: ignore[attr-defined]
# A log message is cut to this many characters: its first lines and its last (where a
# stack trace names the exception) are kept.
MESSAGE_MAX_CHARS = 4000
MESSAGE_HEAD_CHARS = 1000


def clip(message: str) -> str:
    if len(message) <= MESSAGE_MAX_CHARS:
        return message
    tail = MESSAGE_MAX_CHARS - MESSAGE_HEAD_CHARS - 3
    return f"{message[:MESSAGE_HEAD_CHARS]}\n…\n{message[-tail:]}"


def at_least(severity: str, floor: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(floor)


class Instances(ApiModel):
    min_instances: int | None = Field(None, description="Instances kept warm.")
    max_instances: int | None = Field(None, description="Most instances it may scale to.")


class TrafficShare(ApiModel):
    revision: str
    percent: int


class FunctionStatus(ApiModel):
    function: str
    serving_revision: str | None = Field(
        None, description="The revision that takes (most of) the traffic."
    )
    traffic: list[TrafficShare] = Field(default_factory=list)
    ready: bool | None = Field(None, description="The function's last change rolled out.")
    instances: Instances
    manifest: Instances = Field(description="The bounds infra/functions.yaml gives it.")
    requests: int | None = Field(None, description="Requests over the window; null: unknown.")
    errors_5xx: int | None = Field(None, alias="errors5xx")
    p95_ms: float | None = Field(None, description="95th percentile latency over the window.")
    cold_starts: int | None = Field(None, description="Instances started over the window.")
    note: str | None = None


class StatusReport(ApiModel):
    source: str = Field(description="`cloud-run` or `local-stack`: what was read.")
    minutes: int
    functions: list[FunctionStatus]


class LogEntry(ApiModel):
    time: datetime
    function: str
    severity: str
    message: str
    revision: str | None = None

    @field_validator("message")
    @classmethod
    def _clipped(cls, value: str) -> str:
        return clip(value)


class LogReport(ApiModel):
    source: str
    query: str = Field(description="The query as run, in the source's own terms.")
    entries: list[LogEntry] = Field(description="Newest first, at most `limit`.")


class Change(ApiModel):
    """What a restart, a scale or a rollback did."""

    function: str
    action: Literal["restart", "scale", "rollback"]
    previous_revision: str | None = None
    revision: str | None = Field(None, description="The revision that serves now (or will).")
    ready: bool = Field(description="False: still rolling out when the wait ended.")
    instances: Instances | None = None
    previous_instances: Instances | None = None
    seconds: float = Field(description="How long the change took to be ready (or the wait).")
    note: str | None = None


class RevisionRecord(ApiModel):
    function: str
    revision: str
    created_at: datetime
    ready: bool | None = None


@dataclass(frozen=True)
class LogQuery:
    functions: tuple[str, ...]  # empty: every function
    severity: str  # the lowest severity shown (`DEFAULT`: all)
    minutes: int
    text: str | None
    limit: int
