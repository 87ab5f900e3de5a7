"""Chat: conversations with an agent, and messages answered by the model (JSON or SSE).

Two entry points: `chat` (HTTP, `/v1/conversations`, deployed as `chat`) and
`on_answer_continue` (Pub/Sub push from `chat-continuations`, deployed as
`chat-continue`): the rest of a streamed answer whose client went.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request
from werkzeug.wrappers import Response

from shared.chat import continuations, conversations, models, runs, streams
from shared.core import log
from shared.identity.auth import authenticate, claim
from shared.llm import model
from shared.messaging import events
from shared.web import sse
from shared.web.api import Api, Call

log.configure("chat")
runs.check_settings()
api = Api("chat", auth=authenticate, claim=claim).serve_framework_errors()
CONVERSATION = "/v1/conversations/<conversation_id>"
MESSAGES = CONVERSATION + "/messages"


@api.route(
    "/v1/conversations",
    methods=["POST"],
    body=models.ConversationCreate,
    response=models.ConversationPublic,
    status=201,
    errors=[404, 429],
)
def create_conversation(call: Call) -> models.ConversationPublic:
    """Start a conversation with one of your agents."""
    body, owner, expires = call.body, call.principal.user_id, call.principal.expires_at
    return conversations.create_conversation(owner, body.agent_id, body.title, expires).public()


@api.read("/v1/conversations", query=models.ConversationListQuery, response=models.ConversationPage)
def list_conversations(call: Call) -> models.ConversationPage:
    """Your conversations with an agent, most recently active first."""
    query, owner = call.query, call.principal.user_id
    return conversations.list_conversations(owner, query.agent_id, query.limit, query.page_token)


@api.read(CONVERSATION, response=models.ConversationPublic, errors=[404])
def get_conversation(call: Call) -> models.ConversationPublic:
    """One of your conversations."""
    conversation_id = call.params["conversation_id"]
    return conversations.get_owned_conversation(call.principal.user_id, conversation_id).public()


@api.route(CONVERSATION, methods=["DELETE"], status=204, errors=[404, 412])
def delete_conversation(call: Call) -> None:
    """Delete a conversation and its messages."""
    owner, if_match = call.principal.user_id, call.request.headers.get("If-Match")
    conversations.delete_conversation(owner, call.params["conversation_id"], if_match)


@api.read(MESSAGES, query=models.MessageListQuery, response=models.MessagePage, errors=[400, 404])
def list_messages(call: Call) -> models.MessagePage:
    """Messages of a conversation, a page at a time, newest page first."""
    query: models.MessageListQuery = call.query
    owner, conversation_id = call.principal.user_id, call.params["conversation_id"]
    return conversations.list_messages(owner, conversation_id, query.limit, query.before)


@api.route(
    MESSAGES,
    methods=["POST"],
    body=models.MessageCreate,
    response=models.MessageExchange,
    streams=models.STREAM_EVENTS,
    errors=[404, 409, 429, 502, 503],
    idempotent=True,
    deadline=model.chat_answer_deadline_seconds,  # waits on the model: a budget of its own
)
def send_message(call: Call) -> models.MessageExchange | Response:
    """Send a message; the answer comes as JSON, or as SSE with `Accept: text/event-stream`."""
    user, conversation = call.principal.user_id, call.params["conversation_id"]
    run = runs.start(user, conversation, call.body.content, call.client_ip)
    if sse.wanted(call.request):
        # The answer outlives the connection: a client that goes leaves it to the
        # continuation (`on_answer_continue`) and resumes it from anywhere; a run with
        # tools, which cannot be handed off, goes on here.
        return sse.response(run.sse(), location=run.events_path, outlive=not run.hands_off)
    return run.exchange()


@api.route(
    MESSAGES + "/<message_id>/cancel",
    methods=["POST"],
    response=models.MessagePublic,
    errors=[404],
)
def cancel_message(call: Call) -> models.MessagePublic:
    """Stop an answer (idempotent): it ends `cancelled`; a final answer is left as it is."""
    ids = call.principal.user_id, call.params["conversation_id"], call.params["message_id"]
    return runs.cancel(*ids)


@api.route(MESSAGES + "/<message_id>/events", streams=models.STREAM_EVENTS, errors=[400, 404])
def message_events(call: Call) -> Response:
    """An answer's SSE events after `Last-Event-ID`: live while pending, else stored."""
    after = streams.parse_last_event_id(call.request.headers.get("Last-Event-ID"))
    ids = call.principal.user_id, call.params["conversation_id"], call.params["message_id"]
    return sse.response(streams.resume(*ids, after), keepalive=False)  # it polls, with its own


@functions_framework.http
def chat(request: Request) -> Response:
    model.warm_up()
    return api(request)


@functions_framework.cloud_event
def on_answer_continue(cloud_event: CloudEvent) -> None:
    """Finish a streamed answer whose client went (`chat.answer.handed_off`).

    Retried: a Firestore failure raises, so Pub/Sub redelivers (then dead-letters).
    Dropped as poison (logged, acknowledged): a message that is not a platform event, or
    data that is not `AnswerHandedOffData`. Ignored: other event types.
    Deduplicated on the answer: a final or gone answer, an event that is not the answer's
    hand-off, and an answer another delivery claimed within the lease are acknowledged
    and left alone, so a redelivery continues nothing twice.
    """
    events.consume(cloud_event, continuations.continue_answer)
