"""The shapes of the platform's answers that the CLI reads, and one way to read them.

Only the fields a command shows are declared; others are ignored, so the platform can add
fields freely. An answer of another shape is one sentence (BadAnswer), never a traceback.
`--json` prints the answers as they came, not these models.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from agent_platform_cli.client import BadAnswer


class Answer(BaseModel):
    """camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


Read = TypeVar("Read", bound=Answer)


def read(model: type[Read], raw: Any, what: str) -> Read:
    """`raw` as `model`, or BadAnswer naming the first field that did not fit."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        first = problems[0]
        where = ".".join(str(part) for part in first["loc"]) or "the whole answer"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadAnswer(
            f"the platform's answer to {what} is not what this client expects: "
            f"{where}: {first['msg']}{more}",
            code="bad_answer",
        ) from None


# -- sessions and agents -------------------------------------------------------------------


class SessionCreated(Answer):
    token: str
    session_id: str
    expires_at: str


class Session(Answer):
    session_id: str
    user_id: str
    expires_at: str


class AgentStats(Answer):
    total_runs: int = 0
    successful_runs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Agent(Answer):
    id: str
    name: str
    model: str
    persona: str | None = None
    stats: AgentStats = Field(default_factory=AgentStats)


class AgentPage(Answer):
    agents: list[Agent]
    next_page_token: str | None = None


class Conversation(Answer):
    id: str


# -- the events of an answer stream --------------------------------------------------------


class AnswerMessage(Answer):
    id: str
    persona: str | None = None
    confidence: float | None = None


class MessageCreated(Answer):
    assistant_message: AnswerMessage


class MessageDelta(Answer):
    text: str


class Usage(Answer):
    input_tokens: int = 0
    output_tokens: int = 0


class MessageCompleted(Answer):
    usage: Usage = Field(default_factory=Usage)


class StreamError(Answer):
    code: str | None = None
    message: str = "the answer failed"
    retry_after: int | None = None


# -- persona routing -----------------------------------------------------------------------


class RouteDecision(Answer):
    persona: str
    confidence: float
    secondary: str | None = None
    scores: dict[str, float]
    resonance_key: str
    reasoning: str


# -- operators -----------------------------------------------------------------------------


class EndpointSummary(Answer):
    requests: int
    failure_ratio: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class RunTotals(Answer):
    requests: int
    failures: int
    elapsed_seconds: float


class LoadtestRun(Answer):
    run_id: str
    scenario: str
    started_at: str
    totals: RunTotals
    endpoints: dict[str, EndpointSummary]
    verdict: str
    breaches: list[str] = Field(default_factory=list)
    regression: bool = False
    regressions: list[str] = Field(default_factory=list)


class LoadtestRunPage(Answer):
    runs: list[LoadtestRun]


class Alert(Answer):
    id: str
    status: str
    severity: str
    summary: str
    last_seen_at: str | None = None
    count: int = 0


class AlertList(Answer):
    alerts: list[Alert]


# -- ops commands (`agent-platform ops`) ---------------------------------------------------


class OpsPlan(Answer):
    tool: str
    summary: str
    changes: bool = False


class OpsCommand(Answer):
    id: str
    status: str
    plan: OpsPlan | None = None
    planned_by: str = ""
    reason: str | None = None
    error: str | None = None


class Instances(Answer):
    min_instances: int | None = None
    max_instances: int | None = None


class FunctionStatus(Answer):
    function: str
    serving_revision: str | None = None
    ready: bool | None = None
    instances: Instances = Field(default_factory=Instances)
    requests: int | None = None
    errors_5xx: int | None = Field(None, alias="errors5xx")
    p95_ms: float | None = None
    cold_starts: int | None = None
    note: str | None = None


class StatusReport(Answer):
    source: str = ""
    minutes: int = 0
    functions: list[FunctionStatus]


class LogLine(Answer):
    time: str
    function: str = ""
    severity: str = "DEFAULT"
    message: str = ""


class LogReport(Answer):
    query: str = ""
    entries: list[LogLine]


class Change(Answer):
    function: str
    action: str
    previous_revision: str | None = None
    revision: str | None = None
    ready: bool = False
    seconds: float = 0.0
    instances: Instances | None = None
    previous_instances: Instances | None = None
    note: str | None = None
