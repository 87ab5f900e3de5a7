"""What a model call may spend: every call is covered by a budget before it is sent.

A `Budget` is the caller's admission (`shared.limits.spend.Hold` is the platform's): the
model layer asks it to `cover` the call's worst case (the longest answer plus an upper
bound of the input) before anything reaches the Messages API, and tells it what the call
`spent` once it has ended. A budget that cannot cover the call refuses with
`errors.RateLimited`, and the call is not made. `ModelStream`, `complete` and every tool
turn take a budget as a required argument, so no path can reach the model around one.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

from shared.core import errors
from shared.llm.errors import ModelError


class Budget(Protocol):
    def cover(self, tokens: int) -> None:
        """Make room for a call of at most `tokens`, or `errors.RateLimited`."""

    def spent(self, tokens: int) -> None:
        """Record what a covered call used (input and output tokens)."""


class Unmetered:
    """A budget that counts but never refuses: for tests and tools run by an operator's
    own process (never for a request)."""

    def __init__(self) -> None:
        self.covered = self.used = 0

    def cover(self, tokens: int) -> None:
        self.covered += tokens

    def spent(self, tokens: int) -> None:
        self.used += tokens


class BudgetRefused(errors.RateLimited, ModelError):
    """The caller's budget could not cover the call: 429, with the limit's headers."""

    def __init__(self, refusal: errors.RateLimited) -> None:
        super().__init__(
            str(refusal),
            retry_after=refusal.retry_after,
            limit=refusal.limit,
            window_seconds=refusal.window_seconds,
            policy=refusal.policy,
        )
        self.error_code = "rate_limited"


# At most about 3 bytes of UTF-8 per token, so CJK text is not underestimated.
BYTES_PER_TOKEN_AT_MOST = 3


def tokens_for(text_bytes: int, max_output_tokens: int) -> int:
    """The most a call can cost: the longest answer plus an upper bound of its input."""
    return max_output_tokens + math.ceil(text_bytes / BYTES_PER_TOKEN_AT_MOST)


def request_tokens(request: dict[str, Any]) -> int:
    """`tokens_for` a Messages API request (system, messages and tool definitions)."""
    sent = {k: request.get(k) for k in ("system", "messages", "tools")}
    size = len(json.dumps(sent, ensure_ascii=False, default=str).encode())
    return tokens_for(size, int(request["max_tokens"]))


def cover(budget: Budget, request: dict[str, Any]) -> None:
    """Cover `request` on `budget`; a refusal becomes the model layer's `BudgetRefused`."""
    try:
        budget.cover(request_tokens(request))
    except errors.RateLimited as refusal:
        raise BudgetRefused(refusal) from None
