"""A per-instance fixed-window limiter (per client IP, per user, ...).

It protects one instance from a single noisy client; the global limit in production is
Cloud Armor's rate-based rule at the load balancer, which sees every instance's traffic.
"""

from __future__ import annotations

import math
import threading
import time

from shared.core import errors
from shared.web import response_headers

_MAX_KEYS = 50_000


class WindowLimiter:
    def __init__(self, limit: int, window_seconds: float, what: str) -> None:
        self.limit = limit
        self.window = window_seconds
        self.what = what
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for `key`; `RateLimited` when the window is full."""
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            started, count = self._counts.get(key, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            if count >= self.limit:
                retry_after = math.ceil(self.window - (now - started))
                raise errors.RateLimited(
                    f"{self.what}: at most {self.limit} per {self.window:g} s; retry later",
                    retry_after=retry_after,
                    limit=self.limit,
                    window_seconds=math.ceil(self.window),
                )
            if len(self._counts) >= _MAX_KEYS:
                self._counts.clear()
            self._counts[key] = (started, count + 1)
        reset = math.ceil(self.window - (now - started))
        response_headers.add(
            errors.rate_limit_fields(
                "default", self.limit, math.ceil(self.window), self.limit - count - 1, reset
            )
        )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
