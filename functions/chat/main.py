"""Chat: conversations with an agent, and messages answered by the model (JSON or SSE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import functions_framework
from flask import Request
from pydantic import Field
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.chat import conversations
from shared.chat import runs as chat_runs
from shared.chat import send as chat_send
from shared.chat.conversations import ConversationRecord
from shared.chat.runs import MessagePublic
from shared.core import errors, log
from shared.core.models import ApiModel, RequestModel, Text
from shared.limits import quotas
from shared.llm import model
from shared.web.api import Api, Call, error_response, stream

log.configure("chat")
# Fail at start, not on the first message, when a setting is wrong.
model.get_model_settings()
quotas.get_quota_settings()
logger = log.get_logger("chat")
api = Api("chat")
functions_framework.errorhandler(HTTPException)(api.framework_error)
ConversationId = "/v1/conversations/<conversation_id>"


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

    @classmethod
    def from_record(cls, record: ConversationRecord) -> ConversationPublic:
        return cls.model_validate(record, from_attributes=True)


class ConversationPage(ApiModel):
    conversations: list[ConversationPublic]
    next_page_token: str | None = None


class MessageCreate(RequestModel):
    content: Text = Field(min_length=1, max_length=32_000)


class MessageListQuery(RequestModel):
    limit: int = Field(50, ge=1, le=200)
    before: str | None = Field(None, max_length=64, description="A message id: page backwards.")


class MessagePage(ApiModel):
    messages: list[MessagePublic] = Field(description="Oldest first.")
    next_before: str | None = Field(None, description="Pass as `before` for older messages.")


class MessageExchange(ApiModel):
    user_message: MessagePublic
    assistant_message: MessagePublic


@api.route(
    "/v1/conversations",
    methods=["POST"],
    body=ConversationCreate,
    response=ConversationPublic,
    status=201,
    errors=[404],
)
def create_conversation(call: Call) -> ConversationPublic:
    """Start a conversation with one of your agents."""
    body: ConversationCreate = call.body
    record = conversations.create_conversation(call.principal.user_id, body.agent_id, body.title)
    return ConversationPublic.from_record(record)


@api.route(
    "/v1/conversations", query=ConversationListQuery, response=ConversationPage, errors=[404]
)
def list_conversations(call: Call) -> ConversationPage:
    """Your conversations with an agent, most recently active first."""
    query: ConversationListQuery = call.query
    records, token = conversations.list_conversations(
        call.principal.user_id, query.agent_id, query.limit, query.page_token
    )
    return ConversationPage(
        conversations=[ConversationPublic.from_record(r) for r in records], next_page_token=token
    )


@api.route(ConversationId, response=ConversationPublic, errors=[404])
def get_conversation(call: Call) -> ConversationPublic:
    """One of your conversations."""
    record = conversations.get_owned_conversation(
        call.principal.user_id, call.params["conversation_id"]
    )
    return ConversationPublic.from_record(record)


@api.route(ConversationId, methods=["DELETE"], status=204, errors=[404])
def delete_conversation(call: Call) -> None:
    """Delete a conversation and its messages."""
    record = conversations.get_owned_conversation(
        call.principal.user_id, call.params["conversation_id"]
    )
    conversations.delete_conversation(record)
    chat_send.forget(record.id)


@api.route(
    ConversationId + "/messages", query=MessageListQuery, response=MessagePage, errors=[400, 404]
)
def list_messages(call: Call) -> MessagePage:
    """Messages of a conversation, a page at a time, newest page first."""
    query: MessageListQuery = call.query
    record = conversations.get_owned_conversation(
        call.principal.user_id, call.params["conversation_id"]
    )
    messages, next_before = conversations.list_messages(record, query.limit, query.before)
    return MessagePage(
        messages=[MessagePublic.from_record(m) for m in messages], next_before=next_before
    )


@api.route(
    ConversationId + "/messages",
    methods=["POST"],
    body=MessageCreate,
    response=MessageExchange,
    streams=True,
    errors=[404, 409, 429, 502, 503],
)
def send_message(call: Call) -> MessageExchange | Response:
    """Send a message; the answer comes as JSON, or as SSE with `Accept: text/event-stream`."""
    body: MessageCreate = call.body
    run = chat_runs.start(call.principal.user_id, call.params["conversation_id"], body.content)
    if "text/event-stream" in call.request.headers.get("Accept", ""):
        return Response(
            stream(_sse(run)),
            mimetype="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )
    run.run_to_end()
    if run.error is not None:
        # The user's message is kept; the answer is stored as failed. Say when to retry.
        failure: errors.PlatformError = run.error
        failure.details = [{"userMessageId": run.question.id, "assistantMessageId": run.answer.id}]
        response = error_response(failure, call.request_id)
        response.headers["Retry-After"] = str(run.error.retry_after)
        return response
    return MessageExchange(
        user_message=MessagePublic.from_record(run.question),
        assistant_message=MessagePublic.from_record(run.answer),
    )


def _sse(run: chat_runs.ChatRun) -> Iterator[bytes]:
    run_events = run.events()
    try:
        for name, data in run_events:
            yield _frame(name, data)
    except Exception:  # end the stream well-formed; the log has the cause
        logger.exception("chat stream failed")
        yield _frame("error", {"code": "internal", "message": "the answer could not be finished"})
        yield _frame("done", {})
    finally:
        run_events.close()  # type: ignore[attr-defined]
        run.abandon()


def _frame(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@functions_framework.http
def chat(request: Request) -> Response:
    model.warm_up()
    return api(request)
