"""Request and response shapes of the persona router API, built from routing results."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.core.models import ApiModel, RequestModel, Text
from shared.personas.data import PersonaSet
from shared.personas.routing import PersonaAnswer, RouteResult

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
    reasoning: str = Field(description="One line: why this persona, with the evidence.")
    decided_by: Literal["rules", "model"] = Field(
        description="`rules`: the offline reader (classifier and cues); `model`: the offline "
        "reader was unsure and one short model call decided."
    )
    unsure: bool = Field(
        description="The offline reader was unsure (confidence under "
        "PERSONA_ROUTE_MIN_CONFIDENCE) and no model decided: the fallback persona answers."
    )

    @classmethod
    def of(cls, route: RouteResult) -> RouteDecision:
        return cls(
            persona=route.persona,
            confidence=route.confidence,
            secondary=route.secondary,
            scores=route.scores,
            resonance_key=route.resonance_key,
            reasoning=route.reasoning,
            decided_by="model" if route.decided_by == "model" else "rules",
            unsure=route.unsure,
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


def persona_list(personas: PersonaSet) -> PersonaList:
    return PersonaList(
        personas=[
            PersonaPublic(
                name=p.spec.name,
                title=p.spec.title,
                description=p.spec.description,
                style_summary=p.spec.style_summary,
                tones=list(p.spec.tones),
            )
            for p in personas.personas
        ]
    )


def chat_answer(answer: PersonaAnswer) -> PersonaChatAnswer:
    """The answer, with how the message was read (rhythm, tone) and routed."""
    reply, routed, analysis = answer.reply, answer.route, answer.route.analysis
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
