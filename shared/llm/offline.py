"""The built-in offline model: deterministic answers when no API key is configured."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator

from shared.llm.settings import get_model_settings

# -- the offline model ------------------------------------------------------------------

_OPENERS = (
    "Here is a considered answer.",
    "Good question; let me take it step by step.",
    "Thanks for the message.",
    "Let me think about that.",
)
_CLOSERS = (
    "Ask me to expand on any part.",
    "That is the short version; there is more to say.",
    "Tell me if a different angle would help.",
    "I hope that points the way.",
)


_OPENERS_KO = (
    "차근차근 답해 볼게요.",
    "좋은 질문이에요. 하나씩 살펴볼게요.",
    "메시지 고마워요.",
    "생각해 볼게요.",
)
_CLOSERS_KO = (
    "더 자세히 알고 싶은 부분을 말해 주세요.",
    "짧게 정리한 답이에요. 더 할 이야기가 있어요.",
    "다른 관점이 필요하면 알려 주세요.",
    "방향을 잡는 데 도움이 되면 좋겠어요.",
)


def _in_korean(text: str) -> bool:
    """Whether most of the letters are Hangul: then the offline model answers in Korean."""
    hangul = sum("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in text)
    latin = sum(ch.isascii() and ch.isalpha() for ch in text)
    return hangul > 0 and hangul >= latin


def offline_answer(system: str, messages: list[dict[str, str]]) -> str:
    """A deterministic answer, in the language of the last message (Korean or English):
    the same input gives the same text."""
    digest = hashlib.sha256((system + json.dumps(messages, sort_keys=True)).encode()).digest()
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = [w.strip(".,!?;:\"'()") for w in last.split()]
    if isinstance(last, str) and _in_korean(last):
        topics = sorted({w for w in words if len(w) > 1}, key=lambda w: (-len(w), w))[:3]
        about = ", ".join(topics) if topics else "메시지"
        return (
            f"{_OPENERS_KO[digest[0] % len(_OPENERS_KO)]} {len(words)}개 단어로 {about}에 대해 "
            f"쓰셨네요. {_CLOSERS_KO[digest[1] % len(_CLOSERS_KO)]} "
            "(오프라인 모델: Claude의 답을 받으려면 ANTHROPIC_API_KEY를 설정하세요.)"
        )
    keywords = sorted({w.lower() for w in words if len(w) > 3}, key=lambda w: (-len(w), w))[:3]
    about = ", ".join(keywords) if keywords else "your message"
    return (
        f"{_OPENERS[digest[0] % len(_OPENERS)]} You wrote {len(words)} words about {about}. "
        f"{_CLOSERS[digest[1] % len(_CLOSERS)]} "
        "(Offline model: set ANTHROPIC_API_KEY for answers from Claude.)"
    )


def offline_continuation(system: str, messages: list[dict[str, str]], prefill: str) -> str:
    """What follows `prefill` in the answer to `messages`: the whole answer is generated
    as without a prefill (deterministic), and the part after the prefill is what continues
    it, so a continued answer reads exactly as an uncut one. A prefill the offline model
    would not have written (another model's start) is left as it is: nothing follows."""
    whole = offline_answer(system, messages)
    if not prefill:
        return whole
    return whole[len(prefill) :] if whole.startswith(prefill) else ""


def estimate_tokens(text: str) -> int:
    """About four characters per token: good enough to budget history."""
    return max(1, (len(text) + 3) // 4)


def paced_chunks(
    text: str, max_tokens: int, counted: Callable[[int], None]
) -> Generator[str, None, str]:
    """`text` four words at a time, paced like a stream (`OFFLINE_CHUNK_DELAY_MS`), stopping
    at `max_tokens`; `counted` hears the tokens sent so far. Returns the stop reason."""
    words = text.split(" ")
    delay = get_model_settings().offline_chunk_delay_ms / 1000
    sent = 0
    for start in range(0, len(words), 4):
        if sent >= max_tokens:
            return "max_tokens"
        chunk = " ".join(words[start : start + 4]) + (" " if start + 4 < len(words) else "")
        if delay:
            time.sleep(delay)
        sent += estimate_tokens(chunk)
        counted(sent)
        yield chunk
    return "end_turn"
