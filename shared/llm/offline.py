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


def offline_answer(system: str, messages: list[dict[str, str]]) -> str:
    """A deterministic answer: the same input gives the same text."""
    digest = hashlib.sha256((system + json.dumps(messages, sort_keys=True)).encode()).digest()
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = [w.strip(".,!?;:\"'()") for w in last.split()]
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
