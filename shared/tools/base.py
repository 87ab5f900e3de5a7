"""What a tool is: the `Tool`, who calls it (`Caller`), and its answer (`ToolOutcome`).

A `Tool` has a name, a description, an input model (its JSON schema is what a model or an
MCP client sees), who may call it (`guest`: any signed-in guest, and operators; `operator`:
operators only), whether it changes anything, and a handler that runs with the `Caller`'s
identity: a guest's call sees only that guest's data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

Access = Literal["guest", "operator"]
# How much of a tool's answer a model is shown (it pays for every token of it).
MAX_RESULT_CHARS = 8_000


@dataclass(frozen=True)
class Caller:
    """Who a tool runs for: a guest (their user id) or an operator (no user of their own).
    `requested_by` names the person when the caller knows it (an ops command's requester
    or confirmer), for the record a changing tool leaves."""

    user_id: str | None = None
    operator: bool = False
    requested_by: str | None = None

    @property
    def kind(self) -> str:
        return "operator" if self.operator else "guest"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[BaseModel]
    access: Access
    changes: bool
    handler: Callable[[Caller, Any], Any]
    # The arguments when a text clearly asks for this tool, else None: the deterministic
    # reading the offline model and the offline ops parser share (`shared.tools.phrases`).
    match: Callable[[str], dict[str, Any] | None] | None = None

    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema(by_alias=True)
        schema.pop("title", None)
        return schema

    def allowed(self, caller: Caller) -> bool:
        return caller.operator or (self.access == "guest" and bool(caller.user_id))

    def summary(self, arguments: dict[str, Any]) -> str:
        """One line: what a call does, for plans and logs."""
        shown = ", ".join(f"{k}={v}" for k, v in arguments.items())
        return f"{self.name}({shown})"


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's answer as JSON, or the error a model (or a client) is told about."""

    name: str
    arguments: dict[str, Any]
    result: Any
    is_error: bool = False

    def text(self) -> str:
        """The answer as a model reads it: compact JSON, cut to `MAX_RESULT_CHARS`."""
        text = json.dumps(self.result, ensure_ascii=False, separators=(",", ":"), default=str)
        return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + "…"
