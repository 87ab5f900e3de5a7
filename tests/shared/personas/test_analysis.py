"""Rule-based resonance analysis: rhythm, tone, intent, Korean and English."""

from __future__ import annotations

import pytest

from shared.personas.analysis import (
    INTENTS,
    PACES,
    TONES,
    analyse,
    compile_cues,
    normalize,
    rhythm_of,
    scan_of,
)


def cues_found(cues: list[str], text: str) -> list[str]:
    return sorted(compile_cues(cues).find(scan_of(normalize(text))))


def test_short_message_has_a_fast_pace() -> None:
    assert rhythm_of("Need a plan, fast.").pace == "fast"


def test_long_winding_sentences_have_a_slow_pace() -> None:
    sentence = (
        "I have been thinking for a while about how our team could restructure the way we "
        "share knowledge across projects without adding yet another meeting to the calendar"
    )

    assert rhythm_of(f"{sentence}. {sentence}.").pace == "slow"


def test_a_few_ordinary_sentences_have_a_medium_pace() -> None:
    text = (
        "Our service keeps timing out during the nightly batch job. "
        "The database looks fine but the queue grows quickly."
    )

    assert rhythm_of(text).pace == "medium"


def test_question_and_exclamation_ratios_count_sentence_endings() -> None:
    rhythm = rhythm_of("Is it ready? It is! Ship it. Now?")

    assert rhythm.question_ratio == 0.5
    assert rhythm.exclamation_ratio == 0.25
    assert rhythm.avg_sentence_length == pytest.approx(2.0)
    assert rhythm.punctuation_density > 0


def test_korean_sentences_count_toward_rhythm() -> None:
    rhythm = rhythm_of("내일 발표인데 너무 떨려요. 어떻게 하죠?")

    assert rhythm.question_ratio == 0.5
    assert rhythm.pace == "fast"


@pytest.mark.parametrize(
    ("text", "tone"),
    [
        ("URGENT: the checkout page is down and customers are calling", "urgent"),
        ("급해요! 오늘까지 제출해야 해요", "urgent"),
        ("ugh, it keeps failing and I'm so fed up", "frustrated"),
        ("아 진짜 짜증나, 왜 이렇게 답답하지", "frustrated"),
        ("I'm nervous about tomorrow, what if it goes wrong", "anxious"),
        ("시험 때문에 너무 불안하고 걱정돼요 ㅠㅠ", "anxious"),
        ("haha that's such a silly idea 😂", "playful"),
        ("ㅋㅋㅋ 재밌는 이름 지어줘", "playful"),
        ("Compare the trade-offs and the metrics of both options", "analytical"),
        ("두 방식의 장단점을 비교 분석해 주세요", "analytical"),
        ("I'm curious how garbage collection works under the hood", "curious"),
        ("이 알고리즘의 원리가 궁금해요", "curious"),
        ("I'm confused and not sure where do I start", "confused"),
        ("뭐가 뭔지 헷갈리고 막막해요", "confused"),
        ("Let's work on this together and align on a plan", "collaborative"),
        ("같이 협업해서 맞춰봐요", "collaborative"),
        ("Please send the summary when you have time, thanks", "calm"),
    ],
)
def test_tone_rules_read_korean_and_english(text: str, tone: str) -> None:
    assert analyse(text).tone.primary == tone


def test_tone_scores_are_a_distribution_over_every_tone() -> None:
    reading = analyse("ugh, this is so frustrating!!").tone

    assert set(reading.scores) == set(TONES)
    assert sum(reading.scores.values()) == pytest.approx(1.0)
    assert reading.source == "rules"


def test_one_acronym_is_not_shouting() -> None:
    assert analyse("Should this API return JSON or XML").tone.primary != "playful"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("How does consistent hashing work?", "inquiry"),
        ("이 쿼리는 왜 느릴까요", "inquiry"),
        ("Please write a short summary of the meeting", "request"),
        ("Can you help me plan the release?", "request"),
        ("보고서 양식 하나 만들어 주세요", "request"),
        ("I finally finished my painting and I'm so proud!", "expressive"),
        ("ㅠㅠ 너무 속상해", "expressive"),
        ("The deploy finished at noon.", "statement"),
    ],
)
def test_intent_rules(text: str, intent: str) -> None:
    assert analyse(text).intent == intent


def test_resonance_key_is_tone_pace_intent() -> None:
    analysis = analyse("How does consistent hashing work?")

    tone, pace, intent = analysis.resonance_key.split("-")
    assert (tone, pace, intent) == (
        analysis.tone.primary,
        analysis.rhythm.pace,
        analysis.intent,
    )
    assert tone in TONES and pace in PACES and intent in INTENTS


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!", "\n\n"])
def test_degenerate_input_is_analysed_without_error(text: str) -> None:
    analysis = analyse(text)

    assert analysis.rhythm.pace in PACES
    assert analysis.tone.primary in TONES
    assert analysis.intent in INTENTS


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hello there", "en"),
        ("안녕하세요", "ko"),
        ("git rebase 어떻게 해요", "mixed"),
        ("🙂", "none"),
    ],
)
def test_language_is_detected(text: str, language: str) -> None:
    assert analyse(text).language == language


def test_english_cues_match_whole_words_and_star_prefixes() -> None:
    cues = ["fun", "deploy*", "right now"]

    assert cues_found(cues, "This function is not fun") == ["fun"]
    assert cues_found(cues, "Deployments failed, fix it RIGHT  now") == ["deploy*", "right  now"]
    assert cues_found(cues, "redeploy") == []


def test_hyphenated_and_slashed_words_match_their_parts() -> None:
    assert cues_found(["data", "a/b"], "a data-driven A/B test") == ["a/b", "data"]


def test_korean_cues_match_inside_words_with_particles() -> None:
    assert cues_found(["데이터"], "데이터를 분석하고 데이터가 많아요") == ["데이터", "데이터"]
