"""What each command does, on the public API only. Each returns the process exit status.

With `--json` a command prints what the API answered (one JSON document on standard
output) instead of its text; the sentences for people stay on standard error.
"""

from __future__ import annotations

import argparse
import getpass
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from agent_platform_cli import answers
from agent_platform_cli.answers import read
from agent_platform_cli.client import LIMITS, ApiError, Limits, PlatformClient, path_part
from agent_platform_cli.config import Config, Platform
from agent_platform_cli.errors import CommandError, Exit
from agent_platform_cli.render import Output, ProgressBar, bar, pad, table, width

# How long each load-test scenario runs unless --duration says otherwise (the load-test
# function's shapes); only the progress bar uses it.
SCENARIO_SECONDS = {"light": 15.0, "medium": 30.0, "heavy": 60.0, "spike": 20.0}
# Time the platform needs after the last request to judge, store and answer.
LOADTEST_GRACE_SECONDS = 120.0
INTERRUPTED = Exit.INTERRUPTED


@dataclass
class Context:
    base_url: str
    config: Config
    out: Output
    err: Output
    stdin: TextIO
    json: bool = False
    limits: Limits = field(default_factory=lambda: LIMITS)

    @property
    def platform(self) -> Platform:
        return self.config.platform(self.base_url)

    def client(self, token: str | None = None, timeout: float | None = None) -> PlatformClient:
        return PlatformClient(self.base_url, token, timeout, limits=self.limits)

    def anonymous(self) -> PlatformClient:
        return self.client()

    def guest(self) -> PlatformClient:
        token = self.platform.session_token
        if not token:
            raise CommandError(
                f"no guest session for {self.base_url}: run 'agent-platform session new'"
            )
        return self.client(token)

    def operator(self, timeout: float | None = None) -> PlatformClient:
        token = self.platform.operator_token
        if not token:
            raise CommandError(
                f"no operator token for {self.base_url}: run 'agent-platform operator set' "
                "and type or pipe the token"
            )
        return self.client(token, timeout)

    def say(self, text: str = "", style: str | None = None) -> None:
        """A line for people on standard output (not in `--json` mode)."""
        self.out.line(text, style)

    def note(self, text: str) -> None:
        """A line for people on standard error, in either mode."""
        self.err.line(text, "note")

    def emit(self, value: Any) -> None:
        """What the API answered, as `--json` prints it."""
        self.out.json(value)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _done(ctx: Context) -> int:
    """`--json` for a command the API answers with no body, or that only changes the config."""
    if ctx.json:
        ctx.emit({"ok": True, "baseUrl": ctx.base_url})
    return Exit.OK


# -- session -------------------------------------------------------------------------------


def session_new(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.anonymous() as client:
        raw = client.request("POST", "/v1/sessions")
    created = read(answers.SessionCreated, raw, "POST /v1/sessions")
    ctx.platform.session_token = created.token
    ctx.platform.session_expires_at = created.expires_at
    ctx.config.save()
    if ctx.json:  # the token stays in the config file, out of logs and scrollback
        ctx.emit({key: value for key, value in raw.items() if key != "token"})
        return Exit.OK
    ctx.say(
        f"Guest session {created.session_id} started on {ctx.base_url}; "
        f"expires {created.expires_at}."
    )
    ctx.say(f"Token saved in {ctx.config.path}")
    return Exit.OK


def session_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        raw = client.request("GET", "/v1/sessions/current")
    current = read(answers.Session, raw, "GET /v1/sessions/current")
    if ctx.json:
        ctx.emit(raw)
        return Exit.OK
    ctx.say(
        f"Guest session {current.session_id} (user {current.user_id}) on {ctx.base_url}; "
        f"expires {current.expires_at}."
    )
    return Exit.OK


def session_end(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        try:
            client.request("DELETE", "/v1/sessions/current")
        except ApiError as exc:
            if exc.status != 401:  # already gone: forgetting it is all there is to do
                raise
    ctx.platform.session_token = ctx.platform.session_expires_at = None
    ctx.config.save()
    if not ctx.json:
        ctx.say("Session ended; its token is forgotten.")
    return _done(ctx)


# -- agents --------------------------------------------------------------------------------


def all_agents(client: PlatformClient) -> list[dict[str, Any]]:
    """Every agent of the guest, as the API answered them (each checked)."""
    agents: list[dict[str, Any]] = []
    page_token = None
    while True:
        raw = client.request("GET", "/v1/agents", params={"limit": 100, "pageToken": page_token})
        page = read(answers.AgentPage, raw, "GET /v1/agents")
        agents.extend(raw["agents"])
        page_token = page.next_page_token
        if not page_token:
            return agents


def find_agent(client: PlatformClient, wanted: str) -> dict[str, Any]:
    """An agent by id, or by its exact name when that name is unique (as the API answered)."""
    if wanted.startswith("agt_"):
        try:
            raw: dict[str, Any] = client.request("GET", f"/v1/agents/{path_part(wanted)}")
        except ApiError as exc:
            if exc.status == 404:
                raise CommandError(f"no agent {wanted}") from None
            raise
        read(answers.Agent, raw, "GET /v1/agents/{agentId}")
        return raw
    matches = [raw for raw in all_agents(client) if raw["name"] == wanted]
    if not matches:
        raise CommandError(f"no agent named {wanted!r}; 'agent-platform agents list' shows them")
    if len(matches) > 1:
        ids = ", ".join(str(raw["id"]) for raw in matches)
        raise CommandError(f"{len(matches)} agents are named {wanted!r}: use an id ({ids})")
    return matches[0]


def agents_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        raw = all_agents(client)
    if ctx.json:
        ctx.emit({"agents": raw})
        return Exit.OK
    if not raw:
        ctx.say("No agents yet: 'agent-platform agents create NAME' makes one.")
        return Exit.OK
    rows = []
    for agent in (answers.Agent.model_validate(item) for item in raw):
        runs = agent.stats.total_runs
        success = agent.stats.successful_runs / runs if runs else None
        tokens = agent.stats.input_tokens + agent.stats.output_tokens
        rows.append(
            [
                agent.id,
                agent.name,
                agent.model,
                agent.persona or "-",
                str(runs),
                _percent(success),
                str(tokens),
            ]
        )
    headers = ["ID", "NAME", "MODEL", "PERSONA", "RUNS", "SUCCESS", "TOKENS"]
    ctx.say(table(headers, rows, numeric={4, 5, 6}))
    return Exit.OK


def agents_create(args: argparse.Namespace, ctx: Context) -> int:
    body: dict[str, Any] = {"name": args.name, "model": args.model}
    if args.system_prompt is not None:
        body["systemPrompt"] = args.system_prompt
    if args.persona is not None:
        body["persona"] = None if args.persona == "none" else args.persona
    with ctx.guest() as client:
        raw = client.request("POST", "/v1/agents", body=body)
    agent = read(answers.Agent, raw, "POST /v1/agents")
    if ctx.json:
        ctx.emit(raw)
        return Exit.OK
    persona = agent.persona or "none"
    ctx.say(f"Created agent {agent.id} ({agent.name}, {agent.model}, persona {persona}).")
    return Exit.OK


def agents_delete(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        raw = find_agent(client, args.agent)
        agent = answers.Agent.model_validate(raw)
        client.request("DELETE", f"/v1/agents/{path_part(agent.id)}")
    if ctx.json:
        ctx.emit(raw)  # the agent that was deleted
        return Exit.OK
    ctx.say(f"Deleted agent {agent.id} ({agent.name}).")
    return Exit.OK


# -- persona router ------------------------------------------------------------------------


def route(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        raw = client.request("POST", "/v1/personas/route", body={"message": args.message})
    decision = read(answers.RouteDecision, raw, "POST /v1/personas/route")
    if ctx.json:
        ctx.emit(raw)
        return Exit.OK
    ctx.say(f"persona     {decision.persona} ({_percent(decision.confidence)})")
    ctx.say(f"runner-up   {decision.secondary or '-'}")
    ctx.say("scores")
    longest = max((width(name) for name in decision.scores), default=0)
    for name, score in decision.scores.items():
        ctx.say(f"  {pad(name, longest)}  {bar(score)} {_percent(score)}")
    ctx.say(f"resonance   {decision.resonance_key}")
    ctx.say(f"reasoning   {decision.reasoning}")
    return Exit.OK


# -- operators: load tests and alerts ------------------------------------------------------


def _run_in_background(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except ApiError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


def loadtest_run(args: argparse.Namespace, ctx: Context) -> int:
    """Exit.VERDICT_FAIL when the run finished with a FAIL verdict."""
    expected = args.duration or SCENARIO_SECONDS.get(args.scenario, 30.0)
    body: dict[str, Any] = {"scenario": args.scenario, "targetBaseUrl": ctx.base_url}
    if args.duration:
        body["durationSeconds"] = args.duration
    client = ctx.operator(timeout=expected + LOADTEST_GRACE_SECONDS)
    progress = ProgressBar(ctx.err.stream, f"load test {args.scenario}", expected)
    started = time.monotonic()
    thread, outcome = _run_in_background(
        lambda: client.request("POST", "/v1/loadtests/runs", body=body)
    )
    try:
        while thread.is_alive():
            progress.update(time.monotonic() - started)
            thread.join(0.25)
    except KeyboardInterrupt:
        progress.finish()
        ctx.note("The run goes on on the platform; 'agent-platform loadtest list' shows it.")
        return INTERRUPTED
    finally:
        client.close()
    progress.update(max(time.monotonic() - started, expected))
    progress.finish()
    if "error" in outcome:
        raise outcome["error"]
    run = read(answers.LoadtestRun, outcome["value"], "POST /v1/loadtests/runs")
    if ctx.json:
        ctx.emit(outcome["value"])
    else:
        print_run(run, ctx)
    return Exit.VERDICT_FAIL if run.verdict.lower() == "fail" else Exit.OK


def print_run(run: answers.LoadtestRun, ctx: Context) -> None:
    regression = ", regression" if run.regression else ""
    verdict = run.verdict.upper()
    ctx.say(
        f"Run {run.run_id} ({run.scenario}): {verdict}{regression}; "
        f"{run.totals.requests} requests, {run.totals.failures} failed, "
        f"{run.totals.elapsed_seconds:.1f} s",
        "fail" if verdict == "FAIL" else "pass",
    )
    rows = [
        [
            name,
            str(summary.requests),
            _percent(summary.failure_ratio),
            f"{summary.p50_ms:.0f}",
            f"{summary.p95_ms:.0f}",
            f"{summary.p99_ms:.0f}",
            f"{summary.max_ms:.0f}",
        ]
        for name, summary in sorted(run.endpoints.items())
    ]
    headers = ["ENDPOINT", "REQUESTS", "FAILED", "P50 MS", "P95 MS", "P99 MS", "MAX MS"]
    ctx.say(table(headers, rows, numeric={1, 2, 3, 4, 5, 6}))
    for line in run.breaches:
        ctx.say(f"SLO breach: {line}")
    for line in run.regressions:
        ctx.say(f"regression: {line}")


def loadtest_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.operator() as client:
        raw = client.request(
            "GET", "/v1/loadtests/runs", params={"limit": args.limit, "scenario": args.scenario}
        )
    runs = read(answers.LoadtestRunPage, raw, "GET /v1/loadtests/runs").runs
    if ctx.json:
        ctx.emit(raw)
        return Exit.OK
    if not runs:
        ctx.say("No load-test runs yet.")
        return Exit.OK
    rows = []
    for run in runs:
        endpoints = run.endpoints.values()
        worst = [
            max((getattr(summary, key) for summary in endpoints), default=0.0)
            for key in ("p50_ms", "p95_ms", "p99_ms")
        ]
        rows.append(
            [
                run.run_id,
                run.started_at[:19].replace("T", " "),
                run.scenario,
                str(run.totals.requests),
                *(f"{value:.0f}" for value in worst),
                run.verdict + (" (regression)" if run.regression else ""),
            ]
        )
    headers = ["RUN", "STARTED (UTC)", "SCENARIO", "REQUESTS", "P50", "P95", "P99", "VERDICT"]
    ctx.say(table(headers, rows, numeric={3, 4, 5, 6}))
    return Exit.OK


def alerts_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.operator() as client:
        raw = client.request(
            "GET", "/v1/alerts", params={"limit": args.limit, "status": args.status}
        )
    alerts = read(answers.AlertList, raw, "GET /v1/alerts").alerts
    if ctx.json:
        ctx.emit(raw)
        return Exit.OK
    if not alerts:
        ctx.say("No alerts.")
        return Exit.OK
    rows = [
        [
            alert.status,
            alert.severity,
            alert.summary,
            (alert.last_seen_at or "-")[:19].replace("T", " "),
            str(alert.count),
            alert.id,
        ]
        for alert in alerts
    ]
    headers = ["STATUS", "SEVERITY", "SUMMARY", "LAST SEEN (UTC)", "COUNT", "ID"]
    ctx.say(table(headers, rows, numeric={4}))
    return Exit.OK


def operator_set(args: argparse.Namespace, ctx: Context) -> int:
    if ctx.stdin.isatty():
        token = getpass.getpass("Operator token (not echoed): ")
    else:
        token = ctx.stdin.readline()
    token = token.strip()
    if not token:
        raise CommandError("no token given: type it at the prompt or pipe it on standard input")
    ctx.platform.operator_token = token
    ctx.config.save()
    if not ctx.json:
        ctx.say(f"Operator token saved for {ctx.base_url} in {ctx.config.path}")
    return _done(ctx)


def operator_clear(args: argparse.Namespace, ctx: Context) -> int:
    ctx.platform.operator_token = None
    ctx.config.save()
    if not ctx.json:
        ctx.say(f"Operator token for {ctx.base_url} forgotten.")
    return _done(ctx)
