"""The `chat-events` topic: what a finished chat run publishes and its consumers read."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.core.models import ApiModel

TOPIC = "chat-events"
RUN_COMPLETED = "chat.run.completed"
RUN_FAILED = "chat.run.failed"


class ChatRunData(ApiModel):
    """`data` of chat.run.completed and chat.run.failed (camelCase on the wire)."""

    agent_id: str
    user_id: str
    conversation_id: str
    message_id: str
    model: str
    outcome: Literal["completed", "failed", "incomplete", "cancelled"]
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0
    stop_reason: str | None = None
    error_code: str | None = None
    persona: str | None = None
    finished_at: datetime
