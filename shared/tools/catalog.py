"""The platform's tools: its agents, persona routing, deploys, alerts, silences and load tests.

`TOOLS` is the registry's content, in the order clients see it. Each handler imports the
capability it exposes when first called, so listing tools costs no capability's imports.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from shared.core.models import RequestModel, Text, utcnow
from shared.tools.base import Caller, Tool
from shared.tools.phrases import reader_for

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
)
# The offline readings (`shared.tools.phrases`) are attached by name.
TOOLS: tuple[Tool, ...] = tuple(replace(t, match=reader_for(t.name)) for t in _DEFINED)
if len({t.name for t in TOOLS}) != len(TOOLS):
    raise ValueError("two tools share a name")
