"""Persona router: list the personas, route a message to one, or answer in its voice."""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.identity.auth import authenticate
from shared.llm.settings import persona_chat_deadline_seconds
from shared.personas import models, routing
from shared.personas.data import load_personas
from shared.web.api import Api, Call

log.configure("persona_router")
load_personas()  # a bad PERSONAS_FILE or setting fails the start, not the first request
api = Api("persona_router", auth=authenticate).serve_framework_errors()


@api.route("/v1/personas", response=models.PersonaList)
def list_personas(call: Call) -> models.PersonaList:
    """The personas the router chooses from."""
    return models.persona_list(load_personas())


@api.route(
    "/v1/personas/route",
    methods=["POST"],
    body=models.PersonaMessage,
    response=models.RouteDecision,
    max_body_bytes=models.MAX_BODY_BYTES,
)
def route(call: Call) -> models.RouteDecision:
    """Which persona should answer the message: offline, or, when that is unsure and a key
    is configured, one short model call within the caller's spend bounds."""
    decided = routing.route_with_model(call.body.message, call.principal.user_id, call.client_ip)
    return models.RouteDecision.of(decided)


@api.route(
    "/v1/personas/chat",
    methods=["POST"],
    body=models.PersonaMessage,
    response=models.PersonaChatAnswer,
    max_body_bytes=models.MAX_BODY_BYTES,
    errors=[429, 502, 503],
    deadline=persona_chat_deadline_seconds,  # waits on the model: a budget of its own
)
def chat(call: Call) -> models.PersonaChatAnswer:
    """Route the message, then answer it in the chosen persona's voice."""
    answer = routing.answer_for_user(call.principal.user_id, call.client_ip, call.body.message)
    return models.chat_answer(answer)


@functions_framework.http
def persona_router(request: Request) -> Response:
    return api(request)
