"""Persona router: list the personas, route a message to one, or answer in its voice."""

from __future__ import annotations

import functions_framework
from flask import Request
from pydantic import Field
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared.core import log
from shared.core.models import ApiModel, RequestModel, Text
from shared.personas import routing as persona_routing
from shared.personas.data import load_personas
from shared.web.api import Api, Call

log.configure("persona_router")
# Fail at start, not on the first request, when a setting or the persona file is wrong.
load_personas()
api = Api("persona_router")
functions_framework.errorhandler(HTTPException)(api.framework_error)
load_personas()  # a bad PERSONAS_FILE fails the start, not the first request
MAX_MESSAGE_CHARS = 10_000
# 10,000 characters may arrive as \uXXXX escapes (12 bytes for an emoji's surrogate pair).
MAX_BODY_BYTES = 12 * MAX_MESSAGE_CHARS + 4096


class PersonaMessage(RequestModel):
    message: Text = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description="The user's message; surrounding whitespace is ignored.",
    )


class PersonaPublic(ApiModel):
    name: str
    title: str
    description: str
    style_summary: str
    tones: list[str]


class PersonaList(ApiModel):
    personas: list[PersonaPublic]


class RouteDecision(ApiModel):
    persona: str
    confidence: float = Field(description="The chosen persona's score, 0..1.")
    secondary: str | None = Field(description="The runner-up persona.")
    scores: dict[str, float] = Field(description="Every persona's score; they sum to 1.")
    resonance_key: str = Field(description="`tone-pace-intent`, e.g. `curious-medium-inquiry`.")
    reasoning: str = Field(description="One line: why this persona.")

    @classmethod
    def of(cls, route: persona_routing.RouteResult) -> RouteDecision:
        return cls(
            persona=route.persona,
            confidence=route.confidence,
            secondary=route.secondary,
            scores=route.scores,
            resonance_key=route.resonance_key,
            reasoning=route.reasoning,
        )


class RhythmPublic(ApiModel):
    avg_sentence_length: float
    punctuation_density: float
    question_ratio: float
    exclamation_ratio: float
    pace: str


class TonePublic(ApiModel):
    primary: str
    scores: dict[str, float]
    source: str = Field(description="`rules`, or `model` when the model classified it.")


class RoutingPublic(RouteDecision):
    intent: str
    language: str
    cues: list[str] = Field(description="Topic cues of the chosen persona found in the message.")


class ChatMetadata(ApiModel):
    rhythm: RhythmPublic
    tone: TonePublic
    routing: RoutingPublic


class Usage(ApiModel):
    input_tokens: int
    output_tokens: int


class PersonaChatAnswer(ApiModel):
    content: str
    persona: str
    confidence: float
    resonance_key: str
    metadata: ChatMetadata
    model: str = Field(description="`offline` when no model API key is configured.")
    usage: Usage
    latency_ms: float


@api.route("/v1/personas", response=PersonaList)
def list_personas(call: Call) -> PersonaList:
    """The personas the router chooses from."""
    return PersonaList(
        personas=[
            PersonaPublic(
                name=p.spec.name,
                title=p.spec.title,
                description=p.spec.description,
                style_summary=p.spec.style_summary,
                tones=list(p.spec.tones),
            )
            for p in load_personas().personas
        ]
    )


@api.route(
    "/v1/personas/route",
    methods=["POST"],
    body=PersonaMessage,
    response=RouteDecision,
    max_body_bytes=MAX_BODY_BYTES,
)
def route(call: Call) -> RouteDecision:
    """Which persona should answer the message (rules only: no model call)."""
    return RouteDecision.of(persona_routing.route_message(call.body.message))


@api.route(
    "/v1/personas/chat",
    methods=["POST"],
    body=PersonaMessage,
    response=PersonaChatAnswer,
    max_body_bytes=MAX_BODY_BYTES,
    errors=[429, 502, 503],
)
def chat(call: Call) -> PersonaChatAnswer:
    """Route the message, then answer it in the chosen persona's voice."""
    from shared.limits import quotas

    user_id = call.principal.user_id
    quotas.admit_message(user_id)  # the same per-user limits as chat: one budget for both
    answer = persona_routing.answer_in_persona(call.body.message)
    reply, routed, analysis = answer.reply, answer.route, answer.route.analysis
    quotas.record_tokens(user_id, reply.input_tokens + reply.output_tokens)
    rhythm = analysis.rhythm
    return PersonaChatAnswer(
        content=reply.text,
        persona=routed.persona,
        confidence=routed.confidence,
        resonance_key=routed.resonance_key,
        metadata=ChatMetadata(
            rhythm=RhythmPublic(
                avg_sentence_length=rhythm.avg_sentence_length,
                punctuation_density=rhythm.punctuation_density,
                question_ratio=rhythm.question_ratio,
                exclamation_ratio=rhythm.exclamation_ratio,
                pace=rhythm.pace,
            ),
            tone=TonePublic(
                primary=analysis.tone.primary,
                scores=analysis.tone.scores,
                source=analysis.tone.source,
            ),
            routing=RoutingPublic(
                **RouteDecision.of(routed).model_dump(),
                intent=analysis.intent,
                language=analysis.language,
                cues=list(routed.cues),
            ),
        ),
        model=reply.model,
        usage=Usage(input_tokens=reply.input_tokens, output_tokens=reply.output_tokens),
        latency_ms=reply.latency_ms,
    )


@functions_framework.http
def persona_router(request: Request) -> Response:
    return api(request)
