"""What each command does, on the public API only. Each returns the process exit status."""

from __future__ import annotations

import argparse
import getpass
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from agent_platform_cli.client import ApiError, PlatformClient
from agent_platform_cli.config import Config, Platform
from agent_platform_cli.render import ProgressBar, bar, table

# How long each load-test scenario runs unless --duration says otherwise (the load-test
# function's shapes); only the progress bar uses it.
SCENARIO_SECONDS = {"light": 15.0, "medium": 30.0, "heavy": 60.0, "spike": 20.0}
# Time the platform needs after the last request to judge, store and answer.
LOADTEST_GRACE_SECONDS = 120.0
INTERRUPTED = 130


class CommandError(Exception):
    """A problem the user can fix, said in one line."""


@dataclass
class Context:
    base_url: str
    config: Config
    out: TextIO
    err: TextIO
    stdin: TextIO

    @property
    def platform(self) -> Platform:
        return self.config.platform(self.base_url)

    def anonymous(self) -> PlatformClient:
        return PlatformClient(self.base_url)

    def guest(self) -> PlatformClient:
        token = self.platform.session_token
        if not token:
            raise CommandError(
                f"no guest session for {self.base_url}: run 'agent-platform session new'"
            )
        return PlatformClient(self.base_url, token)

    def operator(self, timeout: float = 30) -> PlatformClient:
        token = self.platform.operator_token
        if not token:
            raise CommandError(
                f"no operator token for {self.base_url}: run 'agent-platform operator set' "
                "and type or pipe the token"
            )
        return PlatformClient(self.base_url, token, timeout=timeout)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


# -- session -------------------------------------------------------------------------------


def session_new(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.anonymous() as client:
        created = client.request("POST", "/v1/sessions")
    ctx.platform.session_token = created["token"]
    ctx.platform.session_expires_at = created["expiresAt"]
    ctx.config.save()
    ctx.say(
        f"Guest session {created['sessionId']} started on {ctx.base_url}; "
        f"expires {created['expiresAt']}."
    )
    ctx.say(f"Token saved in {ctx.config.path}")
    return 0


def session_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        current = client.request("GET", "/v1/sessions/current")
    ctx.say(
        f"Guest session {current['sessionId']} (user {current['userId']}) on {ctx.base_url}; "
        f"expires {current['expiresAt']}."
    )
    return 0


def session_end(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        try:
            client.request("DELETE", "/v1/sessions/current")
        except ApiError as exc:
            if exc.status != 401:  # already gone: forgetting it is all there is to do
                raise
    ctx.platform.session_token = ctx.platform.session_expires_at = None
    ctx.config.save()
    ctx.say("Session ended; its token is forgotten.")
    return 0


# -- agents --------------------------------------------------------------------------------


def all_agents(client: PlatformClient) -> list[dict[str, Any]]:
    agents: list[dict[str, Any]] = []
    page_token = None
    while True:
        page = client.request("GET", "/v1/agents", params={"limit": 100, "pageToken": page_token})
        agents.extend(page["agents"])
        page_token = page.get("nextPageToken")
        if not page_token:
            return agents


def find_agent(client: PlatformClient, wanted: str) -> dict[str, Any]:
    """An agent by id, or by its exact name when that name is unique."""
    if wanted.startswith("agt_"):
        try:
            agent: dict[str, Any] = client.request("GET", f"/v1/agents/{wanted}")
        except ApiError as exc:
            if exc.status == 404:
                raise CommandError(f"no agent {wanted}") from None
            raise
        return agent
    matches = [agent for agent in all_agents(client) if agent["name"] == wanted]
    if not matches:
        raise CommandError(f"no agent named {wanted!r}; 'agent-platform agents list' shows them")
    if len(matches) > 1:
        ids = ", ".join(agent["id"] for agent in matches)
        raise CommandError(f"{len(matches)} agents are named {wanted!r}: use an id ({ids})")
    return matches[0]


def agents_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        agents = all_agents(client)
    if not agents:
        ctx.say("No agents yet: 'agent-platform agents create NAME' makes one.")
        return 0
    rows = []
    for agent in agents:
        stats = agent.get("stats") or {}
        runs = stats.get("totalRuns", 0)
        success = stats.get("successfulRuns", 0) / runs if runs else None
        tokens = stats.get("inputTokens", 0) + stats.get("outputTokens", 0)
        rows.append(
            [
                agent["id"],
                agent["name"],
                agent["model"],
                agent.get("persona") or "-",
                str(runs),
                _percent(success),
                str(tokens),
            ]
        )
    headers = ["ID", "NAME", "MODEL", "PERSONA", "RUNS", "SUCCESS", "TOKENS"]
    ctx.say(table(headers, rows, numeric={4, 5, 6}))
    return 0


def agents_create(args: argparse.Namespace, ctx: Context) -> int:
    body: dict[str, Any] = {"name": args.name, "model": args.model}
    if args.system_prompt is not None:
        body["systemPrompt"] = args.system_prompt
    if args.persona is not None:
        body["persona"] = None if args.persona == "none" else args.persona
    with ctx.guest() as client:
        agent = client.request("POST", "/v1/agents", body=body)
    persona = agent.get("persona") or "none"
    ctx.say(f"Created agent {agent['id']} ({agent['name']}, {agent['model']}, persona {persona}).")
    return 0


def agents_delete(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        agent = find_agent(client, args.agent)
        client.request("DELETE", f"/v1/agents/{agent['id']}")
    ctx.say(f"Deleted agent {agent['id']} ({agent['name']}).")
    return 0


# -- chat ----------------------------------------------------------------------------------


def _read_line(ctx: Context, prompt: str) -> str | None:
    """The next message, or None at end of input."""
    if ctx.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    line = ctx.stdin.readline()
    return None if line == "" else line.rstrip("\n")


def _stream_answer(client: PlatformClient, conversation_id: str, text: str, ctx: Context) -> None:
    """Print the answer as it streams; Ctrl-C stops this answer only."""
    events = client.stream_events(
        f"/v1/conversations/{conversation_id}/messages", {"content": text}
    )
    started = False
    try:
        for name, data in events:
            if name == "message.created":
                answer = data.get("assistantMessage") or {}
                persona = answer.get("persona")
                label = "assistant"
                if persona:
                    label += f" [{persona} {_percent(answer.get('confidence'))}]"
                ctx.out.write(label + "> ")
                ctx.out.flush()
                started = True
            elif name == "message.delta":
                ctx.out.write(data.get("text", ""))
                ctx.out.flush()
            elif name == "message.completed":
                usage = data.get("usage") or {}
                ctx.out.write("\n")
                ctx.err.write(
                    f"({usage.get('inputTokens', 0)} tokens in, "
                    f"{usage.get('outputTokens', 0)} out)\n"
                )
                ctx.out.flush()
                ctx.err.flush()
            elif name == "error":
                retry = data.get("retryAfter")
                ctx.out.write("\n")
                ctx.out.flush()
                error = ApiError(str(data.get("message", "the answer failed")), retry_after=retry)
                ctx.err.write(f"error: {error}\n")
                ctx.err.flush()
            elif name == "done":
                break
    except KeyboardInterrupt:
        ctx.out.write("\n" if started else "")
        ctx.out.write("[stopped]\n")
        ctx.out.flush()
    finally:
        events.close()  # type: ignore[attr-defined]


def chat(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        agent = find_agent(client, args.agent)
        conversation_id = args.conversation
        if conversation_id is None:
            created = client.request("POST", "/v1/conversations", body={"agentId": agent["id"]})
            conversation_id = created["id"]
        ctx.err.write(
            f"Chatting with {agent['name']} (conversation {conversation_id}). "
            "Ctrl-C stops an answer; Ctrl-D or /quit ends the chat.\n"
        )
        ctx.err.flush()
        while True:
            try:
                line = _read_line(ctx, "you> ")
            except KeyboardInterrupt:
                ctx.out.write("\n")
                return INTERRUPTED
            if line is None or line.strip() in ("/quit", "/exit"):
                return 0
            if not line.strip():
                continue
            try:
                _stream_answer(client, conversation_id, line, ctx)
            except ApiError as exc:
                if exc.status in (401, 404):
                    raise
                ctx.err.write(f"error: {exc}\n")  # a 429 or 503: the chat goes on
                ctx.err.flush()


# -- persona router ------------------------------------------------------------------------


def route(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        decision = client.request("POST", "/v1/personas/route", body={"message": args.message})
    ctx.say(f"persona     {decision['persona']} ({_percent(decision['confidence'])})")
    ctx.say(f"runner-up   {decision.get('secondary') or '-'}")
    ctx.say("scores")
    longest = max(len(name) for name in decision["scores"])
    for name, score in decision["scores"].items():
        ctx.say(f"  {name.ljust(longest)}  {bar(score)} {_percent(score)}")
    ctx.say(f"resonance   {decision['resonanceKey']}")
    ctx.say(f"reasoning   {decision['reasoning']}")
    return 0


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
    expected = args.duration or SCENARIO_SECONDS.get(args.scenario, 30.0)
    body: dict[str, Any] = {"scenario": args.scenario, "targetBaseUrl": ctx.base_url}
    if args.duration:
        body["durationSeconds"] = args.duration
    client = ctx.operator(timeout=expected + LOADTEST_GRACE_SECONDS)
    progress = ProgressBar(ctx.err, f"load test {args.scenario}", expected)
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
        ctx.err.write("The run goes on on the platform; 'agent-platform loadtest list' shows it.\n")
        return INTERRUPTED
    finally:
        client.close()
    progress.update(max(time.monotonic() - started, expected))
    progress.finish()
    if "error" in outcome:
        raise outcome["error"]
    print_run(outcome["value"], ctx)
    return 0


def print_run(run: dict[str, Any], ctx: Context) -> None:
    totals = run["totals"]
    regression = ", regression" if run.get("regression") else ""
    ctx.say(
        f"Run {run['runId']} ({run['scenario']}): {run['verdict'].upper()}{regression}; "
        f"{totals['requests']} requests, {totals['failures']} failed, "
        f"{totals['elapsedSeconds']:.1f} s"
    )
    rows = [
        [
            name,
            str(summary["requests"]),
            _percent(summary["failureRatio"]),
            f"{summary['p50Ms']:.0f}",
            f"{summary['p95Ms']:.0f}",
            f"{summary['p99Ms']:.0f}",
            f"{summary['maxMs']:.0f}",
        ]
        for name, summary in sorted(run["endpoints"].items())
    ]
    headers = ["ENDPOINT", "REQUESTS", "FAILED", "P50 MS", "P95 MS", "P99 MS", "MAX MS"]
    ctx.say(table(headers, rows, numeric={1, 2, 3, 4, 5, 6}))
    for line in run.get("breaches", []):
        ctx.say(f"SLO breach: {line}")
    for line in run.get("regressions", []):
        ctx.say(f"regression: {line}")


def loadtest_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.operator() as client:
        runs = client.request(
            "GET", "/v1/loadtests/runs", params={"limit": args.limit, "scenario": args.scenario}
        )["runs"]
    if not runs:
        ctx.say("No load-test runs yet.")
        return 0
    rows = []
    for run in runs:
        endpoints = run["endpoints"].values()
        worst = {
            key: max((summary[key] for summary in endpoints), default=0.0)
            for key in ("p50Ms", "p95Ms", "p99Ms")
        }
        rows.append(
            [
                run["runId"],
                run["startedAt"][:19].replace("T", " "),
                run["scenario"],
                str(run["totals"]["requests"]),
                f"{worst['p50Ms']:.0f}",
                f"{worst['p95Ms']:.0f}",
                f"{worst['p99Ms']:.0f}",
                run["verdict"] + (" (regression)" if run.get("regression") else ""),
            ]
        )
    headers = ["RUN", "STARTED (UTC)", "SCENARIO", "REQUESTS", "P50", "P95", "P99", "VERDICT"]
    ctx.say(table(headers, rows, numeric={3, 4, 5, 6}))
    return 0


def alerts_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.operator() as client:
        alerts = client.request(
            "GET", "/v1/alerts", params={"limit": args.limit, "status": args.status}
        )["alerts"]
    if not alerts:
        ctx.say("No alerts.")
        return 0
    rows = [
        [
            alert["status"],
            alert["severity"],
            alert["summary"],
            (alert.get("lastSeenAt") or "-")[:19].replace("T", " "),
            str(alert.get("count", 0)),
            alert["id"],
        ]
        for alert in alerts
    ]
    headers = ["STATUS", "SEVERITY", "SUMMARY", "LAST SEEN (UTC)", "COUNT", "ID"]
    ctx.say(table(headers, rows, numeric={4}))
    return 0


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
    ctx.say(f"Operator token saved for {ctx.base_url} in {ctx.config.path}")
    return 0


def operator_clear(args: argparse.Namespace, ctx: Context) -> int:
    ctx.platform.operator_token = None
    ctx.config.save()
    ctx.say(f"Operator token for {ctx.base_url} forgotten.")
    return 0
