"""From a command's text to a plan: Claude picks the tool through tool use when a key is
configured; otherwise the offline model's deterministic reading (`shared.tools.phrases`)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, state
from shared.llm import tool_use
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


def plan(text: str) -> Planned:
    """The tool and validated arguments for `text`, or no plan when nothing fits."""
    caller = Caller(operator=True)
    tools = registry.available(caller)
    specs = [tool_use.ToolSpec(t.name, t.description, t.input_schema(), t.match) for t in tools]
    model = get_ops_settings().ops_model or get_model_settings().chat_default_model
    planned_by = model if is_configured() and model != OFFLINE_MODEL else OFFLINE_MODEL
    use = tool_use.answer_chooses_tool(SYSTEM, text, model, specs)
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
