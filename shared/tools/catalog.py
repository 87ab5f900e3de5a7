"""The platform's tools: its agents, persona routing, deploys, alerts, silences, load tests,
and its own functions (status, logs, restart, scale, roll back, what changed).

`TOOLS` is the registry's content, in the order clients see it. Each handler imports the
capability it exposes when first called, so listing tools costs no capability's imports.
The function tools act through `shared.platform_ops` (Cloud Run in a deployment, the
`make run` stack locally).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from shared.core import log
from shared.core.models import RequestModel, Text, utcnow
from shared.tools.base import Caller, Tool
from shared.tools.phrases import reader_for

logger = log.get_logger("tools")

Scenario = Literal["light", "medium", "heavy", "spike"]
AlertSource = Literal["chat", "loadtest", "deploy", "monitoring", "dead-letter"]


class ListMyAgentsInput(RequestModel):
    status: Literal["active", "paused"] | None = Field(None, description="Only agents in it.")
    limit: int = Field(20, ge=1, le=50)


class RouteInput(RequestModel):
    text: Text = Field(min_length=1, max_length=4000, description="The message to route.")


class LimitInput(RequestModel):
    limit: int = Field(10, ge=1, le=50)


class LoadtestRunsInput(RequestModel):
    scenario: Scenario | None = Field(None, description="Only runs of this scenario.")
    limit: int = Field(5, ge=1, le=20)


class StartLoadtestInput(RequestModel):
    scenario: Scenario
    duration_seconds: float | None = Field(None, gt=0, le=600)
    users: int | None = Field(None, ge=1, le=1000)
    max_requests: int | None = Field(None, ge=1, le=100_000)


class CreateSilenceInput(RequestModel):
    source: AlertSource = Field(description="Silence the alerts of this source.")
    duration_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    comment: str = Field("silenced by an ops command", min_length=1, max_length=500)


class ExpireSilenceInput(RequestModel):
    silence_id: str = Field(pattern=r"^sil_[0-9a-f]{8,64}$")


def _function_names(schema: dict[str, Any]) -> None:
    """The function names this process knows (PLATFORM_FUNCTIONS), as the schema's enum."""
    from shared.platform_ops.settings import get_platform_settings

    names = sorted(get_platform_settings().functions)
    if names:
        schema["enum"] = names


FunctionName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9-]{2,40}$",
        description="A function of the platform as the manifest names it: chat, agents, "
        "webhook, persona-router, guest-session, ...",
        json_schema_extra=_function_names,
    ),
]
LOG_LINES_MAX = 200
Severity = Literal["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]


class PlatformStatusInput(RequestModel):
    function: FunctionName | None = Field(None, description="Only this function (else all).")
    minutes: int = Field(60, ge=1, le=24 * 60, description="The window of the figures.")


class FunctionLogsInput(RequestModel):
    function: FunctionName | None = Field(None, description="Only this function (else all).")
    severity: Severity = Field("DEFAULT", description="The lowest severity shown.")
    minutes: int = Field(60, ge=1, le=7 * 24 * 60, description="How far back to read.")
    text: str | None = Field(
        None, min_length=1, max_length=200, description="Only entries containing this text."
    )
    limit: int = Field(20, ge=1, le=LOG_LINES_MAX, description="At most this many, newest first.")


class FunctionInput(RequestModel):
    function: FunctionName


class ScaleFunctionInput(RequestModel):
    function: FunctionName
    min_instances: int | None = Field(
        None, ge=0, description="Instances kept warm, from 0 to the manifest's maxInstances."
    )
    max_instances: int | None = Field(
        None, ge=1, description="Most instances, up to the manifest's maxInstances."
    )

    @model_validator(mode="after")
    def _within_the_manifest(self) -> ScaleFunctionInput:
        """Within the manifest's bounds: its maxInstances is the ceiling the capacity model
        was computed for; raising it is a change to infra/functions.yaml, not a command."""
        from shared.core import errors
        from shared.platform_ops.settings import bounds_of

        if self.min_instances is None and self.max_instances is None:
            raise ValueError("give minInstances, maxInstances or both")
        if (
            self.min_instances is not None
            and self.max_instances is not None
            and self.min_instances > self.max_instances
        ):
            raise ValueError(
                f"minInstances ({self.min_instances}) is above maxInstances ({self.max_instances})"
            )
        try:
            ceiling = bounds_of(self.function).max_instances
        except errors.PlatformError as exc:
            raise ValueError(exc.message) from None
        for name, value in (
            ("minInstances", self.min_instances),
            ("maxInstances", self.max_instances),
        ):
            if value is not None and value > ceiling:
                raise ValueError(
                    f"{self.function} scales to at most {ceiling} instances (the manifest's "
                    f"maxInstances); {name} {value} is above it"
                )
        return self


class WhatChangedInput(RequestModel):
    hours: int = Field(24, ge=1, le=7 * 24, description="How far back to look.")


def list_my_agents(caller: Caller, arguments: ListMyAgentsInput) -> dict[str, Any]:
    from shared.agents import store

    if not caller.user_id:
        return {"agents": []}  # an operator owns no agents
    records, _ = store.list_agents(caller.user_id, 50)
    chosen = [r for r in records if arguments.status in (None, r.status)][: arguments.limit]
    return {
        "agents": [
            {
                "id": r.id,
                "name": r.name,
                "description": r.description,
                "model": r.model,
                "persona": r.persona,
                "status": r.status,
                "tools": list(getattr(r, "tools", []) or []),
            }
            for r in chosen
        ]
    }


def route_to_persona(caller: Caller, arguments: RouteInput) -> dict[str, Any]:
    from shared.personas import routing

    routed = routing.route_message(arguments.text)
    return {
        "persona": routed.persona,
        "confidence": round(float(routed.confidence), 3),
        "secondary": routed.secondary,
        "reasoning": routed.reasoning,
    }


def recent_deploy_events(caller: Caller, arguments: LimitInput) -> dict[str, Any]:
    from shared.github import deployments

    found = deployments.recent(arguments.limit)
    return {"deployments": [d.model_dump(mode="json", by_alias=True) for d in found]}


def active_alerts(caller: Caller, arguments: LimitInput) -> dict[str, Any]:
    from shared.alerts import records

    page = records.list_alerts(records.AlertQuery(status="firing", limit=arguments.limit))
    keep = ("id", "severity", "source", "summary", "labels", "lastSeenAt", "count", "silencedBy")
    alerts = [a.model_dump(mode="json", by_alias=True) for a in page.alerts]
    return {"alerts": [{k: a[k] for k in keep} for a in alerts]}


def active_silences(caller: Caller, arguments: LimitInput) -> dict[str, Any]:
    from shared.alerts import silences

    found = [s for s in silences.list_all(100) if s.status != "expired"][: arguments.limit]
    return {"silences": [s.model_dump(mode="json", by_alias=True) for s in found]}


def _run_summary(run: Any) -> dict[str, Any]:
    totals = run.totals.model_dump(mode="json", by_alias=True)
    return {
        "runId": run.run_id,
        "scenario": run.scenario,
        "startedAt": run.started_at.isoformat(),
        "verdict": run.verdict,
        "breaches": run.breaches,
        "regression": run.regression,
        "totals": totals,
    }


def loadtest_runs(caller: Caller, arguments: LoadtestRunsInput) -> dict[str, Any]:
    from shared.loadtest import runs

    query = runs.LoadtestRunListQuery(scenario=arguments.scenario, limit=arguments.limit)
    return {"runs": [_run_summary(run) for run in runs.list_runs(query).runs]}


def start_loadtest(caller: Caller, arguments: StartLoadtestInput) -> dict[str, Any]:
    from shared.loadtest import runs

    request = runs.LoadtestRunCreate(
        scenario=arguments.scenario,
        duration_seconds=arguments.duration_seconds,
        users=arguments.users,
        max_requests=arguments.max_requests,
    )
    return _run_summary(runs.start_run(request))


def create_silence(caller: Caller, arguments: CreateSilenceInput) -> dict[str, Any]:
    from shared.alerts import silences

    silence = silences.create(
        silences.SilenceCreate(
            matchers=[silences.Matcher(name="source", value=arguments.source)],
            ends_at=utcnow() + timedelta(minutes=arguments.duration_minutes),
            comment=arguments.comment,
            created_by=f"{caller.kind} tool",
        )
    )
    return silence.model_dump(mode="json", by_alias=True)


def expire_silence(caller: Caller, arguments: ExpireSilenceInput) -> dict[str, Any]:
    from shared.alerts import silences

    silences.expire(arguments.silence_id)
    return {"silenceId": arguments.silence_id, "expired": True}


# -- the platform's own functions (shared.platform_ops) ----------------------------------


def _names(function: str | None) -> list[str]:
    from shared.platform_ops import adapter

    if function is None:
        return sorted(adapter.known_functions())
    adapter.bounds_of(function)
    return [function]


def _changing(caller: Caller, tool: str, function: str) -> None:
    logger.info(
        "platform change",
        extra={"fields": {"tool": tool, "function": function, "requestedBy": caller.requested_by}},
    )


def platform_status(caller: Caller, arguments: PlatformStatusInput) -> dict[str, Any]:
    """Compact: what is unknown is left out, and a traffic split only when there is one
    (a model reads every character of it)."""
    from shared.platform_ops import adapter

    names = _names(arguments.function)
    report = adapter.get_adapter().status(names, arguments.minutes)
    shown = report.model_dump(mode="json", by_alias=True, exclude_none=True)
    for function in shown["functions"]:
        if len(function.get("traffic", [])) <= 1:
            function.pop("traffic", None)
    return shown


def function_logs(caller: Caller, arguments: FunctionLogsInput) -> Any:
    from shared.platform_ops import adapter

    names = _names(arguments.function) if arguments.function else []
    query = adapter.LogQuery(
        functions=tuple(names),
        severity=arguments.severity,
        minutes=arguments.minutes,
        text=arguments.text,
        limit=arguments.limit,
    )
    return adapter.get_adapter().logs(query)


def restart_function(caller: Caller, arguments: FunctionInput) -> Any:
    from shared.platform_ops import adapter

    _names(arguments.function)
    _changing(caller, "restart_function", arguments.function)
    return adapter.get_adapter().restart(arguments.function)


def scale_function(caller: Caller, arguments: ScaleFunctionInput) -> Any:
    from shared.platform_ops import adapter

    _changing(caller, "scale_function", arguments.function)
    return adapter.get_adapter().scale(
        arguments.function, arguments.min_instances, arguments.max_instances
    )


def rollback_function(caller: Caller, arguments: FunctionInput) -> Any:
    from shared.platform_ops import adapter

    _names(arguments.function)
    _changing(caller, "rollback_function", arguments.function)
    return adapter.get_adapter().rollback(arguments.function)


def what_changed(caller: Caller, arguments: WhatChangedInput) -> dict[str, Any]:
    from shared.alerts import records, silences
    from shared.core import errors
    from shared.github import deployments
    from shared.platform_ops import adapter

    now = utcnow()
    since = now - timedelta(hours=arguments.hours)
    deploys = [
        d.model_dump(mode="json", by_alias=True)
        for d in deployments.recent(50)
        if d.updated_at is not None and d.updated_at >= since
    ]
    keep = ("id", "status", "severity", "source", "summary", "firstSeenAt", "lastSeenAt", "count")
    alerts = [
        {k: a.get(k) for k in keep}
        for a in (
            alert.model_dump(mode="json", by_alias=True)
            for alert in records.list_alerts(records.AlertQuery(limit=200)).alerts
            if alert.last_seen_at is not None and alert.last_seen_at >= since
        )
    ]
    silenced = [
        s.model_dump(mode="json", by_alias=True)
        for s in silences.list_all(100)
        if s.created_at >= since or since <= s.ends_at <= now
    ]
    answer: dict[str, Any] = {
        "hours": arguments.hours,
        "since": since.isoformat(),
        "deploys": deploys,
        "revisions": None,
        "alerts": alerts,
        "silences": silenced,
    }
    try:
        found = adapter.get_adapter().revisions(_names(None), since)
        answer["revisions"] = [r.model_dump(mode="json", by_alias=True) for r in found]
    except errors.PlatformError as exc:
        if exc.status >= 500:
            raise
        answer["revisionsNote"] = exc.message
    return answer


_DEFINED = (
    Tool(
        "list_my_agents",
        "List the caller's own agents: id, name, model, persona, status and tools.",
        ListMyAgentsInput,
        "guest",
        False,
        list_my_agents,
    ),
    Tool(
        "route_to_persona",
        "Pick the persona (voice) that fits a message best, with its confidence and why.",
        RouteInput,
        "guest",
        False,
        route_to_persona,
    ),
    Tool(
        "recent_deploy_events",
        "The most recently updated deployments seen from GitHub: status, build, environments.",
        LimitInput,
        "operator",
        False,
        recent_deploy_events,
    ),
    Tool(
        "active_alerts",
        "Alerts firing now, most recently seen first.",
        LimitInput,
        "operator",
        False,
        active_alerts,
    ),
    Tool(
        "active_silences",
        "Silences active or pending: their matchers, window and comment.",
        LimitInput,
        "operator",
        False,
        active_silences,
    ),
    Tool(
        "loadtest_runs",
        "The latest load-test runs, newest first, with verdict, breaches and totals.",
        LoadtestRunsInput,
        "operator",
        False,
        loadtest_runs,
    ),
    Tool(
        "start_loadtest",
        "Run a load-test scenario now (bounded) and answer with its results.",
        StartLoadtestInput,
        "operator",
        True,
        start_loadtest,
    ),
    Tool(
        "create_silence",
        "Silence the alerts of one source (chat, loadtest, deploy, monitoring, dead-letter) "
        "for a number of minutes: they are recorded but not notified.",
        CreateSilenceInput,
        "operator",
        True,
        create_silence,
    ),
    Tool(
        "expire_silence",
        "End a silence now, by its id (sil_...).",
        ExpireSilenceInput,
        "operator",
        True,
        expire_silence,
    ),
    Tool(
        "platform_status",
        "How the platform's functions are doing: per function, the serving revision, "
        "instance bounds, and over the last N minutes requests, 5xx, p95 latency and cold "
        "starts.",
        PlatformStatusInput,
        "operator",
        False,
        platform_status,
    ),
    Tool(
        "function_logs",
        "Read a function's latest log entries, newest first: at or above a severity, from "
        "the last N minutes, containing a text; at most 200.",
        FunctionLogsInput,
        "operator",
        False,
        function_logs,
    ),
    Tool(
        "restart_function",
        "Restart one function: a new revision of the same build takes its traffic (locally, "
        "its process is stopped and started again).",
        FunctionInput,
        "operator",
        True,
        restart_function,
    ),
    Tool(
        "scale_function",
        "Set one function's minimum and/or maximum instances, within the manifest's bounds "
        "(0 to its maxInstances).",
        ScaleFunctionInput,
        "operator",
        True,
        scale_function,
    ),
    Tool(
        "rollback_function",
        "Roll one function back: all its traffic to its previous ready revision.",
        FunctionInput,
        "operator",
        True,
        rollback_function,
    ),
    Tool(
        "what_changed",
        "What changed on the platform in the last N hours, in one answer: deploys, new "
        "revisions, alerts and silences.",
        WhatChangedInput,
        "operator",
        False,
        what_changed,
    ),
)
# The offline readings (`shared.tools.phrases`) are attached by name.
TOOLS: tuple[Tool, ...] = tuple(replace(t, match=reader_for(t.name)) for t in _DEFINED)
if len({t.name for t in TOOLS}) != len(TOOLS):
    raise ValueError("two tools share a name")
