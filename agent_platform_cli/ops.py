"""`agent-platform ops "<text>"`: an operator's command in plain words, planned by the
platform (`POST /v1/ops/commands`), with a confirmation prompt before anything changes.

A plan that only reads runs at once and its result is shown: the status table of the
functions, log entries, what changed, or the tool's JSON. A plan that changes something
(a restart, a scale, a rollback, a silence, a load test) is shown first and runs only
once it is confirmed: at the prompt (standard input a terminal), with `--yes`, or later
with `agent-platform ops --confirm ID`. Unconfirmed, it stays planned and the command
exits with 5; a command the platform found no plan for, or whose run failed, exits 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from agent_platform_cli import answers
from agent_platform_cli.answers import read
from agent_platform_cli.client import path_part
from agent_platform_cli.commands import Context
from agent_platform_cli.errors import Exit, UsageError
from agent_platform_cli.render import json_text, one_line, table

COMMANDS = "/v1/ops/commands"
# A plan that reads runs within the request: status and logs take seconds on Cloud Run.
PLAN_SECONDS = 120.0
# A confirmed change runs within the request too: a restart waits for its revision, a
# load test for its scenario (the ops function's budget is a load test's, up to 600 s).
CONFIRM_SECONDS = 660.0
YES = {"y", "yes", "네", "예", "응", "ㅇ"}


def ops(args: argparse.Namespace, ctx: Context) -> int:
    if args.confirm and args.text:
        raise UsageError("give a command's text or --confirm ID, not both")
    if not args.confirm and not (args.text or "").strip():
        raise UsageError('say what to do: agent-platform ops "how is chat doing"')
    if args.confirm:
        return _finish(_confirm(ctx, args.confirm), ctx)
    with ctx.operator(timeout=PLAN_SECONDS) as client:
        raw = client.request("POST", COMMANDS, body={"text": args.text})
    command = read(answers.OpsCommand, raw, f"POST {COMMANDS}")
    if command.status != "awaiting_confirmation":
        return _finish(raw, ctx)
    assert command.plan is not None
    ctx.note(
        f"Plan: {command.plan.summary} (changes the platform; planned by {command.planned_by})"
    )
    if not (args.yes or _confirmed_at_the_prompt(ctx)):
        if ctx.json:
            ctx.emit(raw)
        ctx.note(f"Not run. It stays planned: 'agent-platform ops --confirm {command.id}' runs it.")
        return Exit.NOT_CONFIRMED
    return _finish(_confirm(ctx, command.id), ctx)


def _confirmed_at_the_prompt(ctx: Context) -> bool:
    """y (or yes, 네, 예) at the prompt; no terminal means no answer, so no."""
    if not ctx.stdin.isatty():
        ctx.note("No terminal to ask on: pass --yes to run a changing plan.")
        return False
    ctx.err.write("Run it? [y/N] ", "prompt")
    answer = ctx.stdin.readline()
    return answer.strip().lower() in YES


def _confirm(ctx: Context, command_id: str) -> Any:
    with ctx.operator(timeout=CONFIRM_SECONDS) as client:
        return client.request("POST", f"{COMMANDS}/{path_part(command_id)}/confirm")


def _failed(ctx: Context, sentence: str) -> int:
    """`error: <sentence>` on standard error, as for any failure, in either mode (the
    command document itself is what `--json` printed)."""
    ctx.err.write("error: ", "error")
    ctx.err.line(one_line(sentence))
    return Exit.FAILED


def _finish(raw: Any, ctx: Context) -> int:
    """Show a command that has run (or found no plan) and answer the exit status."""
    command = read(answers.OpsCommand, raw, COMMANDS)
    if ctx.json:
        ctx.emit(raw)
    if command.status == "unrecognised":
        return _failed(ctx, f"no plan: {command.reason or 'no tool fits the command'}")
    if command.status == "failed":
        tool = command.plan.tool if command.plan else "the tool"
        return _failed(ctx, f"{tool} failed: {command.error or 'no reason given'}")
    if command.status in ("running", "awaiting_confirmation"):
        ctx.note(
            f"Command {command.id} is {command.status.replace('_', ' ')}; "
            f"'agent-platform ops --confirm {command.id}' shows it when it ends."
        )
        return Exit.NOT_CONFIRMED if command.status == "awaiting_confirmation" else Exit.OK
    if not ctx.json:
        assert command.plan is not None
        ctx.note(f"{command.plan.summary} (planned by {command.planned_by})")
        _show(command.plan.tool, raw.get("result"), ctx)
    return Exit.OK


# -- results -------------------------------------------------------------------------------


def _show(tool: str, result: Any, ctx: Context) -> None:
    shown = {
        "platform_status": _status,
        "function_logs": _logs,
        "restart_function": _change,
        "scale_function": _change,
        "rollback_function": _change,
        "what_changed": _changes,
    }.get(tool)
    if shown is None or not isinstance(result, dict):
        ctx.say(json_text(result))
        return
    shown(result, ctx)


def _number(value: Any, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.0f}{suffix}" if isinstance(value, float) else f"{value}{suffix}"


def _status(result: dict[str, Any], ctx: Context) -> None:
    report = read(answers.StatusReport, result, "platform_status")
    rows = []
    for f in report.functions:
        bounds = f"{_number(f.instances.min_instances)}-{_number(f.instances.max_instances)}"
        rows.append(
            [
                f.function,
                f.serving_revision or "-",
                {True: "yes", False: "no", None: "-"}[f.ready],
                bounds,
                _number(f.requests),
                _number(f.errors_5xx),
                _number(f.p95_ms),
                _number(f.cold_starts),
            ]
        )
    headers = ["FUNCTION", "REVISION", "READY", "INSTANCES", "REQUESTS", "5XX", "P95 MS", "COLD"]
    ctx.say(f"{report.source}, last {report.minutes} min")
    ctx.say(table(headers, rows, numeric={4, 5, 6, 7}))
    for note in dict.fromkeys(f.note for f in report.functions if f.note):
        ctx.say(f"note: {note}", "note")


def _logs(result: dict[str, Any], ctx: Context) -> None:
    report = read(answers.LogReport, result, "function_logs")
    if not report.entries:
        ctx.say(f"No log entries ({report.query}).")
        return
    for entry in report.entries:
        first, *rest = entry.message.splitlines() or [""]
        style = "error" if entry.severity in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY") else None
        ctx.say(
            f"{entry.time[:19].replace('T', ' ')}  {entry.severity:<8} {entry.function}  {first}",
            style,
        )
        for line in rest:
            ctx.say(f"    {line}")


def _change(result: dict[str, Any], ctx: Context) -> None:
    change = read(answers.Change, result, "the change")
    verb = {"restart": "Restarted", "scale": "Scaled", "rollback": "Rolled back"}[change.action]
    moved = f"{change.previous_revision or '-'} -> {change.revision or '-'}"
    state = f"ready in {change.seconds:g} s" if change.ready else "not ready yet"
    line = f"{verb} {change.function}: {moved} ({state})"
    if change.instances is not None:
        before = change.previous_instances or answers.Instances()
        line += (
            f"; instances {_number(before.min_instances)}-{_number(before.max_instances)} -> "
            f"{_number(change.instances.min_instances)}-{_number(change.instances.max_instances)}"
        )
    ctx.say(line + ".", "pass" if change.ready else None)
    if change.note:
        ctx.say(f"note: {change.note}", "note")


def _changes(result: dict[str, Any], ctx: Context) -> None:
    ctx.say(f"Since {str(result.get('since', ''))[:19].replace('T', ' ')} UTC:")
    sections = (
        (
            "deploys",
            lambda d: (
                f"{d.get('repository', '')}@{str(d.get('sha', ''))[:7]} {d.get('status') or ''}"
            ),
        ),
        (
            "revisions",
            lambda r: (
                f"{r.get('function')}: {r.get('revision')} at {str(r.get('createdAt', ''))[:19]}"
            ),
        ),
        ("alerts", lambda a: f"[{a.get('severity')}] {a.get('summary')} ({a.get('status')})"),
        (
            "silences",
            lambda s: f"{s.get('id')} {s.get('status')} until {str(s.get('endsAt', ''))[:16]}",
        ),
    )
    for key, describe in sections:
        items = result.get(key)
        if items is None:
            note = result.get(f"{key}Note")
            ctx.say(f"{key}: unknown" + (f" ({note})" if note else ""))
            continue
        ctx.say(f"{key}: {len(items)}" + (":" if items else ""))
        for item in items[:50]:
            ctx.say(f"  {describe(item) if isinstance(item, dict) else item}")
