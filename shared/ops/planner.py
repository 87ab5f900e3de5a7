"""From a command's text to a plan: Claude picks the tool through tool use when a key is
configured; otherwise the offline model's deterministic reading (`shared.tools.phrases`)."""

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
from shared.tools import registry
from shared.tools.registry import Caller

SYSTEM = (
    "You turn an operator's command about the platform (in English or Korean) into exactly "
    "one tool call. Call the one tool that does what the command asks, with arguments taken "
    "from the command. If no tool does what it asks, answer with one short sentence and "
    "call no tool."
)


PLAN_MAX_TOKENS = 512


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
    reason: str | None = None


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
    """The tool and validated arguments for `text`, or no plan when nothing fits; the
    planning call is covered by `budget` (`admit`) before it is made."""
    caller = Caller(operator=True)
    model = get_ops_settings().ops_model or get_model_settings().chat_default_model
    planned_by = model if is_configured() and model != OFFLINE_MODEL else OFFLINE_MODEL
    use = tool_use.answer_chooses_tool(
        SYSTEM, text, model, _specs(caller), PLAN_MAX_TOKENS, budget=budget
    )
    if use is None:
        return Planned(None, planned_by)
    try:
        tool = registry.find(caller, use.name)
        arguments = registry.validate(tool, use.input)
    except (errors.InvalidRequest, errors.NotFound):
        return Planned(None, planned_by)
    shown = arguments.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Planned(
        Plan(tool=tool.name, arguments=shown, summary=tool.summary(shown), changes=tool.changes),
        planned_by,
    )
