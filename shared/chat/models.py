"""Request and response shapes of the chat API (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.core.models import ApiModel, RequestModel, Text

Status = Literal["pending", "completed", "failed", "incomplete"]


class ConversationCreate(RequestModel):
    agent_id: str = Field(min_length=1, max_length=64)
    title: str = Field("", max_length=200, description="Default: 'Chat with <agent name>'.")


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
        description="pending while answering; completed, failed, or incomplete (client left)."
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


# -- the SSE events of a streamed answer (`Accept: text/event-stream`) ---------------------


class MessageCreatedEvent(ApiModel):
    """`message.created`: both messages are stored; the answer is pending."""

    user_message: MessagePublic
    assistant_message: MessagePublic


class MessageDeltaEvent(ApiModel):
    """`message.delta`: the next piece of the answer's text."""

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
    """`message.completed`: the stored answer, with its tool calls, and the tokens spent."""

    message: MessagePublic
    usage: Usage


class ErrorEvent(ApiModel):
    """`error`: the answer failed (it is stored as `failed`); `done` follows."""

    code: str
    message: str
    retry_after: int | None = None
    message_id: str | None = None


class DoneEvent(ApiModel):
    """`done`: the last event of every stream."""


STREAM_EVENTS: tuple[tuple[str, type[ApiModel]], ...] = (
    ("message.created", MessageCreatedEvent),
    ("message.delta", MessageDeltaEvent),
    ("tool.call", ToolCallEvent),
    ("tool.result", ToolResultEvent),
    ("message.completed", MessageCompletedEvent),
    ("error", ErrorEvent),
    ("done", DoneEvent),
)
