"""The tool registry: the platform's tools (`shared.tools.catalog`) as callers may use them.

Agents, ops commands and the MCP server all go through here: `available` lists what a
caller may use, `execute` validates the arguments against the tool's input model and runs
its handler with the caller's identity. A caller who may not use a tool is told it does
not exist, as with anything else someone else owns.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.core import errors, log
from shared.tools.base import MAX_RESULT_CHARS, Caller, Tool, ToolOutcome
from shared.tools.catalog import TOOLS

__all__ = ["MAX_RESULT_CHARS", "Caller", "Tool", "ToolOutcome"]
logger = log.get_logger("tools")


def all_tools() -> list[Tool]:
    return list(TOOLS)


def available(caller: Caller) -> list[Tool]:
    """The tools this caller may use, in registry order."""
    return [tool for tool in all_tools() if tool.allowed(caller)]


def find(caller: Caller, name: str) -> Tool:
    """The named tool if this caller may use it; `NotFound` otherwise."""
    tool = next((t for t in all_tools() if t.name == name), None)
    if tool is None or not tool.allowed(caller):
        raise errors.NotFound(f"no tool named {name[:64]!r}")
    return tool


def guest_tool_names() -> list[str]:
    return [tool.name for tool in all_tools() if tool.access == "guest"]


def check_agent_tools(names: list[str] | None) -> None:
    """An agent may be given guest tools only (it runs for a guest)."""
    unknown = sorted(set(names or []) - set(guest_tool_names()))
    if unknown:
        raise errors.InvalidRequest(
            f"unknown tools {', '.join(unknown)}; an agent may use: "
            f"{', '.join(guest_tool_names())}",
            details=[{"field": "tools", "issue": "unknown tool", "type": "value_error"}],
        )


def validate(tool: Tool, arguments: dict[str, Any]) -> BaseModel:
    try:
        return tool.input_model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise errors.InvalidRequest(f"invalid arguments for {tool.name}: {problems}") from None


def execute(
    caller: Caller,
    name: str,
    arguments: dict[str, Any],
    *,
    given: Collection[str] | None = None,
) -> ToolOutcome:
    """Run a tool for the caller; a refusal or a failure is an error outcome, not a raise.

    `given` (an agent's `tools`) narrows what may run: any other name is unknown, even a
    tool the caller could use. A model (or an MCP client) reads the error and may try
    again; the platform's own failures (a dependency down) stay errors of the request.
    """
    try:
        if given is not None and name not in given:
            raise errors.NotFound(f"no tool named {name!r} was given to this agent")
        tool = find(caller, name)
        result = tool.handler(caller, validate(tool, arguments))
    except errors.PlatformError as exc:
        if exc.status >= 500:
            raise
        return ToolOutcome(name, arguments, {"error": exc.message}, is_error=True)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", by_alias=True)
    logger.info(
        "tool called",
        extra={"fields": {"tool": name, "caller": caller.kind, "changes": tool.changes}},
    )
    return ToolOutcome(name, arguments, result)


def call_deadline_seconds() -> float:
    """The budget of a request that runs a tool: `start_loadtest` runs its whole scenario
    inside the call, so the longest load-test run bounds it."""
    from shared.loadtest import runs

    return runs.run_deadline_seconds()
