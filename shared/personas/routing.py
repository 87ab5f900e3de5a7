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

from shared.core import deadline, errors, log
from shared.llm.budget import Budget, tokens_for
from shared.personas import classifier
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
    decided_by: str = "rules"  # `rules` (offline: classifier and cues) or `model`
    unsure: bool = False  # below PERSONA_ROUTE_MIN_CONFIDENCE: the fallback answers
    evidence: tuple[str, ...] = ()  # what decided: the classifier's features


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
    """The persona that should answer `text`, offline (see `offline_route`). Total: any
    string (empty goes to the fallback)."""
    return _logged(offline_route(text))


def offline_route(text: str) -> RouteResult:
    """The classifier's reading of `text` (when the persona set is the one it was trained
    for), blended with the rules' (`RULES_SHARE`, in log space); below
    PERSONA_ROUTE_MIN_CONFIDENCE the answer is unsure and the fallback persona answers.
    Without a classifier for the set, the rules decide alone, with the same threshold."""
    personas = load_personas()
    rules = route_analysis(analyse(text), personas)
    model = classifier.load_model()
    names = [p.name for p in personas.personas]
    if model is None or sorted(model.labels) != sorted(names):
        return _settled(rules, personas, rules.scores, ())
    reading = model.read(text)
    blended = {
        name: (1 - RULES_SHARE) * math.log(max(reading.probabilities[name], 1e-9))
        + RULES_SHARE * math.log(max(rules.scores[name], 1e-9))
        for name in names
    }
    return _settled(rules, personas, _softmax_of(blended), reading.evidence)


RULES_SHARE = 0.2  # the cue scorer's weight beside the classifier's (log-linear blend)
CASCADE_MAX_TOKENS = 64
_CASCADE_SYSTEM = (
    "You route a user's chat message to the persona that should answer it. Call "
    "choose_persona once with the best persona. The personas:\n"
)


def route_with_model(text: str, user_id: str, address: str) -> RouteResult:
    """`offline_route`, and when it is unsure and a key is configured, one short model call
    decides (tool use, the persona names as an enum; PERSONA_ROUTE_MODEL), admitted on the
    guest's and the address's spend bounds (`shared.limits.admission`) and bounded by
    PERSONA_ROUTE_MODEL_TIMEOUT_SECONDS. A model that fails, times out, is refused by a
    bound or answers outside the enum leaves the offline answer."""
    offline = offline_route(text)
    if not offline.unsure:
        return _logged(offline)
    from shared.llm.settings import is_configured

    if not is_configured():
        return _logged(offline)
    from shared.limits import admission

    personas = load_personas()
    system, tool = _cascade_request(personas)
    worst = tokens_for(
        len((system + json.dumps(tool)).encode()) + len(text[:4000].encode()), CASCADE_MAX_TOKENS
    )
    try:
        hold = admission.admit(admission.Payer(user_id, address), worst, message=False)
    except errors.RateLimited as refusal:  # a spent budget leaves the offline answer
        logger.info("routing cascade skipped", extra={"fields": {"reason": refusal.message}})
        return _logged(offline)
    try:
        return _logged(_cascaded(offline, text, hold))
    finally:
        with deadline.lifted():
            hold.settle()


def _cascaded(offline: RouteResult, text: str, budget: Budget) -> RouteResult:
    """The model's choice for an unsure `offline` route, covered by `budget`; or `offline`."""
    personas = load_personas()
    system, tool = _cascade_request(personas)
    chosen = _model_choice(text, system, tool, budget)
    if chosen is None or chosen not in {p.name for p in personas.personas}:
        return offline
    return replace(
        offline,
        persona=chosen,
        confidence=offline.scores[chosen],
        decided_by="model",
        unsure=False,
        reasoning=f"{chosen}: the model decided, the offline reading being unsure "
        f"({offline.reasoning})",
    )


def _cascade_request(personas: PersonaSet) -> tuple[str, dict[str, Any]]:
    lines = [f"- {p.name}: {p.spec.title}. {p.spec.description}" for p in personas.personas]
    fallback = f"\nWhen none fits clearly, choose {personas.fallback}."
    tool = {
        "name": "choose_persona",
        "description": "The persona that should answer the message.",
        "input_schema": {
            "type": "object",
            "properties": {
                "persona": {"type": "string", "enum": [p.name for p in personas.personas]}
            },
            "required": ["persona"],
        },
    }
    return _CASCADE_SYSTEM + "\n".join(lines) + fallback, tool


def _model_choice(text: str, system: str, tool: dict[str, Any], budget: Budget) -> str | None:
    from shared.llm import model

    settings = get_persona_settings()
    try:
        reply = model.complete(
            system,
            [{"role": "user", "content": text[:4000]}],
            settings.persona_route_model,
            CASCADE_MAX_TOKENS,
            budget=budget,
            timeout=settings.persona_route_model_timeout_seconds,
            tools=[tool],
            tool_choice={"type": "tool", "name": "choose_persona"},
        )
    except Exception as exc:  # noqa: BLE001 - the offline answer stands
        logger.warning("routing cascade fell back", extra={"fields": {"error": type(exc).__name__}})
        return None
    for call in reply.tool_calls:
        if call.get("name") == "choose_persona" and isinstance(call.get("input"), dict):
            persona = call["input"].get("persona")
            return persona if isinstance(persona, str) else None
    return None


def _softmax_of(logs: dict[str, float]) -> dict[str, float]:
    top = max(logs.values())
    weights = {name: math.exp(value - top) for name, value in logs.items()}
    total = math.fsum(weights.values())
    return {name: weight / total for name, weight in weights.items()}


def _settled(
    rules: RouteResult,
    personas: PersonaSet,
    scores: dict[str, float],
    evidence: tuple[str, ...],
) -> RouteResult:
    """The decision from final `scores`: the best persona, or the fallback when unsure."""
    order = [p.name for p in personas.personas]
    ranked = sorted(order, key=lambda n: (-round(scores[n], 9), n != personas.fallback))
    best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
    threshold = get_persona_settings().persona_route_min_confidence
    unsure = scores[best] < threshold
    chosen = personas.fallback if unsure else best
    shown = ", ".join(repr(e) for e in evidence) or ", ".join(repr(c) for c in rules.cues[:3])
    if unsure:
        reasoning = (
            f"unsure: best guess {best} ({scores[best]:.2f}), next {runner_up} "
            f"({scores[runner_up or best]:.2f}), under {threshold:.2f}; the fallback "
            f"{personas.fallback} answers"
        )
    elif not evidence:  # the rules alone decided: their own account
        reasoning = rules.reasoning
    else:
        reasoning = f"{best} ({scores[best]:.2f}): evidence {shown}"
        if runner_up:
            reasoning += f"; next {runner_up} ({scores[runner_up]:.2f})"
        reasoning += f"; cues: {rules.reasoning}"
    secondary = best if unsure and best != chosen else runner_up
    return replace(
        rules,
        persona=chosen,
        confidence=scores[chosen],
        secondary=secondary,
        scores=scores,
        reasoning=reasoning,
        unsure=unsure,
        evidence=evidence,
    )


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
    from shared.llm.settings import is_configured

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
        analysis = analyse_with_model(text, hold)  # the tone shown with the answer
        route = offline_route(text)
        if route.unsure and is_configured():
            route = _cascaded(route, text, hold)
        route = _logged(replace(route, analysis=analysis))
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
