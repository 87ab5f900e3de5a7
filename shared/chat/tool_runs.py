"""A chat answer from an agent with tools: model turns, with the tools it asks for run between.

`ToolRun` stands where a `ModelStream` stands in a `ChatRun`: iterating it yields text
chunks and, between turns, `ToolEvent`s (`tool.call` then `tool.result`) that the run
streams as they happen. Each tool runs for the conversation's owner (a guest's call sees
only that guest's data). A run is bounded: after `CHAT_TOOL_MAX_CALLS` calls the model
must answer in text, and once `CHAT_TOOL_MAX_TOKENS` tokens are spent no further turn
starts (stop reason `max_tokens`): a turn starts only when its worst case fits in what
is left. Every turn is covered by the run's budget before it is sent (`shared.llm.budget`).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import state
from shared.llm.budget import Budget, request_tokens
from shared.llm.tool_use import ToolSpec, ToolTurn
from shared.tools import registry
from shared.tools.registry import Caller


class ToolRunSettings(BaseSettings):
    """Bounds of a chat run whose agent has tools (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_tool_max_calls: int = Field(
        5, ge=0, le=50, description="Tool calls one chat run may make; then it must answer."
    )
    chat_tool_max_tokens: int = Field(
        50_000,
        ge=1000,
        le=1_000_000,
        description="Input and output tokens of all turns of one run with tools; past it, "
        "no further turn starts.",
    )


@state.once
def get_tool_run_settings() -> ToolRunSettings:
    return ToolRunSettings()


@dataclass(frozen=True)
class ToolEvent:
    name: str  # `tool.call` or `tool.result`
    data: dict[str, Any]


def specs_for(caller: Caller, names: list[str]) -> list[ToolSpec]:
    """The named tools this caller may use, as the model sees them (unknown names dropped)."""
    wanted = set(names)
    return [
        ToolSpec(tool.name, tool.description, tool.input_schema(), tool.match)
        for tool in registry.available(caller)
        if tool.name in wanted
    ]


class ToolRun:
    """Model turns and tool calls until the model answers in text (see the module)."""

    def __init__(
        self,
        caller: Caller,
        system: str,
        messages: list[dict[str, Any]],
        model: str,
        max_tokens: int,
        *,
        tool_names: list[str],
        budget: Budget,
    ) -> None:
        self.caller, self.system, self.max_tokens = caller, system, max_tokens
        self.budget = budget
        self.messages: list[dict[str, Any]] = list(messages)
        self.requested_model = self.model = model
        self.tools = specs_for(caller, tool_names)
        self.given = frozenset(tool.name for tool in self.tools)
        self.input_tokens = self.output_tokens = 0
        self.stop_reason: str | None = None
        self.parts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.first_chunk_ms: float | None = None
        self._started = 0.0
        self._finished: float | None = None
        self._turn: ToolTurn | None = None
        self._events = self._run()

    def __iter__(self) -> Iterator[str | ToolEvent]:
        self._started = time.perf_counter()
        try:
            yield from self._events
        finally:
            self._finished = time.perf_counter()
            self.close()

    def close(self) -> None:
        self._events.close()
        if self._turn is not None:
            self._turn.close()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def latency_ms(self) -> float:
        end = self._finished if self._finished is not None else time.perf_counter()
        return round((end - self._started) * 1000, 1) if self._started else 0.0

    def _run(self) -> Generator[str | ToolEvent, None, None]:
        settings = get_tool_run_settings()
        while True:
            allow = len(self.calls) < settings.chat_tool_max_calls
            turn = ToolTurn(
                self.system,
                self.messages,
                self.requested_model,
                self.max_tokens,
                self.tools,
                budget=self.budget,
                allow_tools=allow,
            )
            spent = self.input_tokens + self.output_tokens
            if spent and spent + request_tokens(turn.request()) > settings.chat_tool_max_tokens:
                self.stop_reason = "max_tokens"  # the next turn could pass the run's bound
                return
            self._turn = turn
            for chunk in turn:
                if self.first_chunk_ms is None:
                    self.first_chunk_ms = (time.perf_counter() - self._started) * 1000
                self.parts.append(chunk)
                yield chunk
            self.model = turn.model
            self.input_tokens += turn.input_tokens
            self.output_tokens += turn.output_tokens
            self.stop_reason = turn.stop_reason
            if turn.stop_reason != "tool_use" or not turn.tool_uses or not allow:
                return
            self.messages.append({"role": "assistant", "content": turn.blocks()})
            results = []
            for use in turn.tool_uses:
                yield ToolEvent("tool.call", {"id": use.id, "name": use.name, "input": use.input})
                if len(self.calls) < settings.chat_tool_max_calls:
                    outcome = registry.execute(self.caller, use.name, use.input, given=self.given)
                else:  # one turn asked for more calls than the run has left
                    refusal = {"error": "this run's tool call limit is reached"}
                    outcome = registry.ToolOutcome(use.name, use.input, refusal, is_error=True)
                record = {
                    "id": use.id,
                    "name": use.name,
                    "input": use.input,
                    "isError": outcome.is_error,
                    "result": outcome.text(),
                }
                self.calls.append(record)
                yield ToolEvent("tool.result", record)
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": use.id,
                        "content": outcome.text(),
                        "is_error": outcome.is_error,
                    }
                )
            self.messages.append({"role": "user", "content": results})
