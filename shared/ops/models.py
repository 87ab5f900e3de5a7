"""Request and response shapes of the ops-commands API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.core.models import ApiModel, RequestModel, Text

Status = Literal["unrecognised", "awaiting_confirmation", "running", "done", "failed"]


class CommandCreate(RequestModel):
    text: Text = Field(
        min_length=1,
        max_length=500,
        description="What to do, in English or Korean: `run the light load test again`, "
        "`채팅 알림을 한 시간 동안 꺼줘`.",
    )


class Plan(ApiModel):
    tool: str = Field(description="The registry tool the command maps to.")
    arguments: dict[str, Any] = Field(description="Its arguments, validated, defaults filled.")
    summary: str = Field(description="One line: what running it does.")
    changes: bool = Field(description="True: it runs only after `POST .../confirm`.")


class CommandPublic(ApiModel):
    id: str
    text: str
    status: Status = Field(
        description="unrecognised (no tool fits); awaiting_confirmation (a changing plan); "
        "running; done (the result is in `result`); failed (`error` says why)."
    )
    plan: Plan | None = None
    planned_by: str = Field(description="`offline` (the deterministic parser) or the model id.")
    reason: str | None = Field(
        None,
        description="Why the command has no plan (`unrecognised`): for instance `negated: "
        "the command says not to do it`, `no tool can stop a running load test`, or what "
        "a changing tool's arguments lack.",
    )
    requested_by: str | None = Field(
        None,
        description="Who asked: the caller's e-mail (Cloud Run IAM), `operator (iam)` when "
        "the identity token names none, or `operator (token)` (ADMIN_TOKEN).",
    )
    confirmed_by: str | None = Field(None, description="Who confirmed the changing plan.")
    result: Any = None
    error: str | None = None
    created_at: datetime
    confirmed_at: datetime | None = None
    finished_at: datetime | None = None
