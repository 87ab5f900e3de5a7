"""From a command's text to a plan, or no plan and the reason.

With a key Claude picks the tool through tool use (`OPS_MODEL`); without one the offline
model's deterministic reading (`shared.tools.phrases`) does. Either way:
- no tool called: no plan; the reason is the model's own sentence (the offline reader's
  reason without a key: "negated: ...", "no tool can stop a running load test");
- more than one tool called: no plan, and the reason names the calls. A command is one
  action: planning the first call would do part of what was asked, and silently;
- arguments the tool refuses: no plan, with what was wrong;
- a changing plan (start_loadtest, create_silence, expire_silence, restart_function,
  scale_function, rollback_function) is not made when the offline reader finds the
  command negated: a command that says not to do something is
  never turned into doing it, whoever read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, state
from shared.limits import admission
from shared.limits.spend import Hold
from shared.llm import tool_use
from shared.llm.budget import Budget, tokens_for
from shared.llm.settings import OFFLINE_MODEL, get_model_settings, is_configured
from shared.ops.models import Plan
from shared.tools import phrases, registry
from shared.tools.registry import Caller

SYSTEM = (
    "You turn an operator's command about the platform (in English or Korean) into at "
    "most one tool call.\n"
    "- Call one tool only when the command asks for exactly what that tool does, with "
    "arguments taken from the command. Convert quantities to the tool's unit: "
    "create_silence takes duration_minutes ('an hour and a half' is 90, 'half a day' is "
    "720, '이틀' is 2880); start_loadtest takes duration_seconds ('1분 반' is 90); "
    "platform_status and function_logs take minutes ('the last two hours' is 120), "
    "what_changed takes hours; 'top 5', 'the last three', '최근 3개' are limit. Leave out "
    "what the command does not say.\n"
    "- The platform's functions are named as in its manifest (chat, agents, webhook, "
    "persona-router, guest-session, console, mcp, ...; 채팅 is chat, 에이전트 함수 is "
    "agents, 웹훅 is webhook): 'how is chat doing' is platform_status, '에이전트 함수 로그' "
    "is function_logs, 'errors of X' is function_logs with severity ERROR.\n"
    "- Negation means no tool: 'don't', 'do not', 'never', 'no need to', '말고', '하지 마', "
    "'끄지 마', '안 해도 돼'. Never call a tool that does something else or the opposite "
    "instead.\n"
    "- Ending (lifting, unmuting, 해제, 풀어) a silence is expire_silence with its id "
    "(sil_...). No tool extends or brings back a silence, ends every silence at once, "
    "stops or schedules a load test, deploys, creates, pauses or deletes agents, sends a "
    "Slack or other message, changes an alert threshold or acknowledges an alert: for "
    "these call no tool.\n"
    "- start_loadtest, create_silence, expire_silence, restart_function, scale_function "
    "and rollback_function change the platform: call them only with every required "
    "argument stated once in the command (one scenario: light, medium, heavy or spike; "
    "one alert source; one silence id; one function of the platform; for scale_function "
    "a number said to be the minimum or the maximum of instances) and within the tool's "
    "bounds. When one is missing, ambiguous (two functions, all of them, '5 instances' "
    "without min or max) or out of bounds, call no tool.\n"
    "- A question about the platform ('how do I ...', 'what is ...') is not a request.\n"
    "When you call no tool, answer in one short sentence saying why, in English."
)


PLAN_MAX_TOKENS = 512
# How much of the model's sentence is kept as the reason.
REASON_MAX_CHARS = 300


class OpsSettings(BaseSettings):
    """Settings of ops commands (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    ops_model: str | None = Field(
        None, description="Model that plans ops commands; unset: CHAT_DEFAULT_MODEL."
    )


@state.once
def get_ops_settings() -> OpsSettings:
    return OpsSettings()


@dataclass(frozen=True)
class Planned:
    plan: Plan | None
    planned_by: str
    reason: str | None = None  # why there is no plan


def _specs(caller: Caller) -> list[tool_use.ToolSpec]:
    tools = registry.available(caller)
    return [tool_use.ToolSpec(t.name, t.description, t.input_schema(), t.match) for t in tools]


def admit(text: str, address: str) -> Hold:
    """The planning call's budget: its worst case taken on the deployment's and the
    address's token meters (`shared.limits.admission`), or `RateLimited`."""
    specs = _specs(Caller(operator=True))
    sent = json.dumps([SYSTEM, text, [spec.api() for spec in specs]], ensure_ascii=False)
    worst = tokens_for(len(sent.encode()), PLAN_MAX_TOKENS)
    return admission.admit(admission.Payer(None, address), worst, message=False)


def plan(text: str, budget: Budget) -> Planned:
    """The tool and validated arguments for `text`, or no plan and why; the planning call
    is covered by `budget` (`admit`) before it is made."""
    caller = Caller(operator=True)
    model = get_ops_settings().ops_model or get_model_settings().chat_default_model
    planned_by = model if is_configured() and model != OFFLINE_MODEL else OFFLINE_MODEL
    turn = tool_use.ToolTurn(
        SYSTEM,
        [{"role": "user", "content": text}],
        model,
        PLAN_MAX_TOKENS,
        _specs(caller),
        budget=budget,
    )
    for _ in turn:
        pass
    uses = turn.tool_uses
    if not uses:
        if turn.offline:
            return Planned(None, planned_by, phrases.understand(text).reason or phrases.NO_TOOL)
        said = " ".join(turn.text.split())[:REASON_MAX_CHARS]
        return Planned(None, planned_by, said or "the model called no tool")
    if len(uses) > 1:
        names = ", ".join(use.name for use in uses)
        return Planned(
            None,
            planned_by,
            f"the model asked for {len(uses)} tool calls ({names}); a command runs one "
            "tool, so none was planned: ask for one thing at a time",
        )
    use = uses[0]
    try:
        tool = registry.find(caller, use.name)
        arguments = registry.validate(tool, use.input)
    except (errors.InvalidRequest, errors.NotFound) as exc:
        return Planned(None, planned_by, exc.message[:REASON_MAX_CHARS])
    if tool.changes and phrases.understand(text).reason == phrases.NEGATED:
        return Planned(None, planned_by, phrases.NEGATED)
    shown = arguments.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Planned(
        Plan(tool=tool.name, arguments=shown, summary=tool.summary(shown), changes=tool.changes),
        planned_by,
    )
