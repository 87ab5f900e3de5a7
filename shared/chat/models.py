"""Request and response shapes of the chat API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.core.models import ApiModel, Prose, RequestModel, Text

Status = Literal["pending", "completed", "failed", "incomplete", "cancelled"]


class ConversationCreate(RequestModel):
    agent_id: str = Field(min_length=1, max_length=64)
    title: Prose = Field("", max_length=200, description="Default: 'Chat with <agent name>'.")


class ConversationListQuery(RequestModel):
    agent_id: str = Field(min_length=1, max_length=64)
    limit: int = Field(20, ge=1, le=100)
    page_token: str | None = Field(None, max_length=64)


class ConversationPublic(ApiModel):
    id: str
    agent_id: str
    title: str
    message_count: int
    created_at: datetime
    updated_at: datetime


class ConversationPage(ApiModel):
    conversations: list[ConversationPublic]
    next_page_token: str | None = None


class MessageCreate(RequestModel):
    content: Text = Field(min_length=1, max_length=32_000)


class MessageListQuery(RequestModel):
    limit: int = Field(50, ge=1, le=200)
    before: str | None = Field(None, max_length=64, description="A message id: page backwards.")


class MessagePublic(ApiModel):
    id: str
    conversation_id: str
    role: Literal["user", "assistant"]
    content: str
    status: Status = Field(
        description="pending while answering; completed, failed, cancelled (`POST "
        ".../cancel`), or incomplete (stopped without finishing, e.g. the function ended)."
    )
    created_at: datetime
    completed_at: datetime | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float | None = None
    stop_reason: str | None = None
    error_code: str | None = None
    persona: str | None = None
    confidence: float | None = None
    tool_calls: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Tools the agent called while answering, in order: "
        "`{id, name, input, isError, result}` (`result` is the JSON text the model read).",
    )


class MessagePage(ApiModel):
    messages: list[MessagePublic] = Field(description="Oldest first.")
    next_before: str | None = Field(None, description="Pass as `before` for older messages.")


class MessageExchange(ApiModel):
    user_message: MessagePublic
    assistant_message: MessagePublic


# The `data` of each SSE event of an answer (`Accept: text/event-stream`), in order:
# message.created, message.delta..., then message.completed or error, then done.
class MessageCreatedEvent(ApiModel):
    """`event: message.created`: the stored question and the pending answer."""

    user_message: MessagePublic | None
    assistant_message: MessagePublic


class MessageDeltaEvent(ApiModel):
    """`event: message.delta`: the next piece of the answer's text."""

    message_id: str
    text: str


class ToolCallEvent(ApiModel):
    """`tool.call`: the model called one of its agent's tools (run on the server)."""

    message_id: str
    id: str = Field(description="The model's tool_use id; the matching `tool.result` has it.")
    name: str
    input: dict[str, Any]


class ToolResultEvent(ApiModel):
    """`tool.result`: what the tool answered; the model reads it and the text continues."""

    message_id: str
    id: str
    name: str
    input: dict[str, Any]
    is_error: bool
    result: str = Field(description="The JSON text the model read (cut at 8000 characters).")


class Usage(ApiModel):
    input_tokens: int
    output_tokens: int


class MessageCompletedEvent(ApiModel):
    """`event: message.completed`: the final answer and its token usage."""

    message: MessagePublic
    usage: Usage


class StreamErrorEvent(ApiModel):
    """`event: error`: the answer failed (or stopped); `code` says why."""

    code: str
    message: str
    retry_after: int | None = None
    message_id: str | None = None


class StreamDoneEvent(ApiModel):
    """`event: done`: the stream ends (its data is `{}`)."""


STREAM_EVENTS = (
    MessageCreatedEvent,
    MessageDeltaEvent,
    ToolCallEvent,
    ToolResultEvent,
    MessageCompletedEvent,
    StreamErrorEvent,
    StreamDoneEvent,
)


class SweepResult(ApiModel):
    """What one sweep pass did (`POST /v1/sweeps`), by kind."""

    pending_failed: int = Field(0, description="Answers left pending by a dead instance, failed.")
    guests_erased: int = Field(0, description="Guests whose data's retention was over, erased.")
    guests_kept: int = Field(
        0, description="Guests with old data but a live session: kept, stamped with an expiry."
    )
