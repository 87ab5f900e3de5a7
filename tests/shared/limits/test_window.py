from __future__ import annotations

import pytest

from shared.core import errors
from shared.limits.window import WindowLimiter


def test_limit_applies_per_key() -> None:
    limiter = WindowLimiter(2, 60, "things")
    limiter.hit("a")
    limiter.hit("a")
    limiter.hit("b")

    with pytest.raises(errors.RateLimited) as raised:
        limiter.hit("a")
    assert 1 <= raised.value.retry_after <= 60


def test_zero_disables_the_limit() -> None:
    limiter = WindowLimiter(0, 60, "things")

    for _ in range(1000):
        limiter.hit("a")


def test_window_restarts_after_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("shared.limits.window.time.monotonic", lambda: clock[0])
    limiter = WindowLimiter(1, 60, "things")
    limiter.hit("a")
    clock[0] += 61

    limiter.hit("a")
