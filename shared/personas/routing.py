"""Which persona should answer a message: a transparent, deterministic scorer.

Every persona gets a raw score from four signals of the message's analysis:

    raw = prior + 1.2 * tone affinity     (cue-backed tone mass on the persona's tones)
                + 0.3 * pace weight + 0.5 * intent weight
                + 2.0 * cue strength      (1 - 0.6 ** topic cue hits)

and a softmax turns the raw scores into `scores` in [0, 1] that sum to 1. Ties go to the
fallback persona, then to file order, so the same text always gets the same answer.
Routing makes no model call and no I/O (the persona file is read once): it takes about a
hundred microseconds. Only the /chat path calls the model (`answer_for_user`, and
`analyse_with_model` when PERSONA_MODEL_TONE is on), inside the caller's spend bounds.

The public facade for other modules (the chat function) is `route_message`,
`persona_style` and `persona_names`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from shared.core import deadline, log
from shared.llm.budget import Budget, tokens_for
from shared.personas.analysis import INTENTS, TONES, Analysis, ToneReading, analyse
from shared.personas.data import Persona, PersonaSet, get_persona_settings, load_personas

logger = log.get_logger("persona_routing")

TONE_WEIGHT = 1.2
PACE_WEIGHT = 0.3
INTENT_WEIGHT = 0.5
CUE_WEIGHT = 2.0
CUE_DECAY = 0.6
SHARPNESS = 2.5  # softmax inverse temperature: higher = more decisive confidences
MAX_CUES_SHOWN = 3


@dataclass(frozen=True)
class RouteResult:
    persona: str
    confidence: float
    secondary: str | None
    scores: dict[str, float]
    resonance_key: str
    reasoning: str
    analysis: Analysis
    cues: tuple[str, ...]


def _cue_hits(persona: Persona, analysis: Analysis) -> list[str]:
    found = dict.fromkeys(persona.keywords.find(analysis.scan))
    for pattern in persona.patterns:
        match = pattern.search(analysis.scan.normalized)
        if match:
            found.setdefault(match.group(0).strip(), None)
    return list(found)


def _raw_score(persona: Persona, analysis: Analysis, hits: int) -> float:
    spec = persona.spec
    # Only cue-backed tone counts: the resting calm of a message with no cues is no evidence.
    tone_affinity = sum(analysis.tone.scores[tone] for tone in spec.tones)
    if "calm" in spec.tones:
        tone_affinity -= analysis.tone.resting
    return (
        spec.prior
        + TONE_WEIGHT * tone_affinity
        + PACE_WEIGHT * spec.paces.get(analysis.rhythm.pace, 0.0)  # type: ignore[call-overload]
        + INTENT_WEIGHT * spec.intents.get(analysis.intent, 0.0)  # type: ignore[call-overload]
        + CUE_WEIGHT * (1 - CUE_DECAY**hits)
    )


def _softmax(raw: dict[str, float]) -> dict[str, float]:
    top = max(raw.values())
    weights = {name: math.exp(SHARPNESS * (value - top)) for name, value in raw.items()}
    total = math.fsum(weights.values())
    return {name: weight / total for name, weight in weights.items()}


def route_analysis(analysis: Analysis, personas: PersonaSet | None = None) -> RouteResult:
    """Score every persona for an analysed message."""
    personas = personas or load_personas()
    hits = {p.name: _cue_hits(p, analysis) for p in personas.personas}
    raw = {p.name: _raw_score(p, analysis, len(hits[p.name])) for p in personas.personas}
    scores = _softmax(raw)
    order = [p.name for p in personas.personas]
    ranked = sorted(
        order,
        key=lambda name: (-round(raw[name], 9), name != personas.fallback, order.index(name)),
    )
    winner, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
    return RouteResult(
        persona=winner,
        confidence=scores[winner],
        secondary=runner_up,
        scores=scores,
        resonance_key=analysis.resonance_key,
        reasoning=_reasoning(personas, (winner, runner_up), analysis, hits, scores),
        analysis=analysis,
        cues=tuple(hits[winner]),
    )


def _reasoning(
    personas: PersonaSet,
    ranked: tuple[str, str | None],
    analysis: Analysis,
    hits: dict[str, list[str]],
    scores: dict[str, float],
) -> str:
    winner, runner_up = ranked
    persona = personas.get(winner)
    tones = persona.spec.tones if persona else []
    tone = analysis.tone.primary
    fit = "one of its tones" if tone in tones else "not one of its tones"
    cues = hits[winner][:MAX_CUES_SHOWN]
    cue_text = f"topic cues {', '.join(repr(c) for c in cues)}" if cues else "no topic cues"
    if not any(hits.values()) and winner == personas.fallback:
        cue_text = "no topic cues for any persona, so the fallback"
    line = (
        f"{winner} ({scores[winner]:.2f}): tone {tone} ({fit}), pace {analysis.rhythm.pace}, "
        f"intent {analysis.intent}, {cue_text}"
    )
    if runner_up:
        line += f"; next {runner_up} ({scores[runner_up]:.2f})"
    return line


def route_message(text: str) -> RouteResult:
    """The persona that should answer `text`. Total: any string (empty goes to the fallback)."""
    return _logged(route_analysis(analyse(text)))


def _logged(result: RouteResult) -> RouteResult:
    # One line per routed message: the dashboard's persona distribution counts these.
    logger.info(
        "persona routed",
        extra={"fields": {"persona": result.persona, "confidence": round(result.confidence, 3)}},
    )
    return result


def persona_style(name: str) -> str | None:
    """Text to append to an agent's system prompt for persona `name`; None if unknown."""
    persona = load_personas().get(name)
    return persona.spec.style if persona else None


def persona_names() -> list[str]:
    return [p.name for p in load_personas().personas]


# -- optional: tone and intent from the model (never on the /route path) -----------------

_CLASSIFY_PROMPT = (
    "Classify the tone and intent of the user's message. Reply with JSON only, like "
    '{"tone": "calm", "intent": "inquiry"}. tone is one of: ' + ", ".join(TONES) + ". "
    "intent is one of: " + ", ".join(INTENTS) + "."
)
MODEL_SHARE = 0.6  # weight of the model's tone against the rules' distribution
TONE_MAX_TOKENS = 40
# Room for the chosen persona's style text, which is known only after routing.
PERSONA_STYLE_BYTES = 4000


def _model_reading(text: str, budget: Budget) -> tuple[str, str] | None:
    from shared.llm import model

    settings = get_persona_settings()
    reply = model.complete(
        _CLASSIFY_PROMPT,
        [{"role": "user", "content": text[:4000]}],
        settings.persona_tone_model,
        TONE_MAX_TOKENS,
        budget=budget,
        timeout=settings.persona_tone_timeout_seconds,
    )
    answer = reply.text
    data = json.loads(answer[answer.find("{") : answer.rfind("}") + 1])
    tone, intent = data.get("tone"), data.get("intent")
    return (tone, intent) if tone in TONES and intent in INTENTS else None


def analyse_with_model(text: str, budget: Budget) -> Analysis:
    """The rules' analysis, refined by a short model call (covered by `budget`) when
    PERSONA_MODEL_TONE is on and a key is configured. Any failure (timeout, refusal, a
    spent budget, an odd answer) keeps the rules."""
    analysis = analyse(text)
    if not (get_persona_settings().persona_model_tone and text.strip()):
        return analysis
    from shared.llm.settings import is_configured

    if not is_configured():
        return analysis
    try:
        reading = _model_reading(text, budget)
    except Exception as exc:  # noqa: BLE001 - the rules are always a good enough answer
        logger.warning(
            "tone classification fell back to rules",
            extra={"fields": {"error": type(exc).__name__}},
        )
        return analysis
    if reading is None:
        logger.warning("tone classification answered outside the labels; rules kept")
        return analysis
    tone, intent = reading
    rules = analysis.tone
    scores = {t: (1 - MODEL_SHARE) * rules.scores[t] + MODEL_SHARE * (t == tone) for t in TONES}
    blended = ToneReading(tone, scores, (1 - MODEL_SHARE) * rules.resting, source="model")
    return replace(analysis, tone=blended, intent=intent)


# -- answering in a persona's voice ------------------------------------------------------


@dataclass(frozen=True)
class PersonaAnswer:
    route: RouteResult
    reply: Any  # shared.llm.model.ModelReply


def answer_for_user(user_id: str, address: str, text: str) -> PersonaAnswer:
    """Route `text`, then answer it through the model layer in the chosen persona's voice,
    inside the bounds chat has (one budget for chat and personas): the guest's messages
    per minute, and one admission (`shared.limits.admission`) for every model call it
    makes, taken before the first and settled after the last."""
    from shared.limits import admission, quotas
    from shared.llm import model

    settings = get_persona_settings()
    max_tokens = settings.persona_chat_max_tokens
    worst = tokens_for(len(text.encode()) + PERSONA_STYLE_BYTES, max_tokens)
    if settings.persona_model_tone:
        worst += tokens_for(
            len(_CLASSIFY_PROMPT) + min(len(text.encode()), 12_000), TONE_MAX_TOKENS
        )
    hold = admission.admit(admission.Payer(user_id, address), worst, message=True)
    try:
        quotas.admit_message(user_id)
        route = _logged(route_analysis(analyse_with_model(text, hold)))
        reply = model.complete(
            persona_style(route.persona) or "",
            [{"role": "user", "content": text}],
            settings.persona_chat_model or model.get_model_settings().chat_default_model,
            max_tokens,
            budget=hold,
        )
    except BaseException:
        with deadline.lifted():
            hold.settle()  # what the calls made spent; the rest goes back
        raise
    with deadline.lifted():  # tokens spent are counted, even past the request's deadline
        hold.settle()
    return PersonaAnswer(route, reply)
