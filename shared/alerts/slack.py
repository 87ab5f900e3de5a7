"""Slack through an incoming webhook: bounded retries and a circuit breaker.

`post()` retries 429 and 5xx answers and transport errors with exponential backoff and
full jitter, waits what `Retry-After` asks when Slack sends it, and gives up once the next
wait would overrun `SLACK_MAX_ELAPSED_SECONDS`, raising `SlackUnavailable` so the caller
(a Pub/Sub handler) fails and the message is redelivered. After `SLACK_BREAKER_THRESHOLD`
failed posts in a row the breaker opens: posts fail at once for `SLACK_BREAKER_COOLDOWN_SECONDS`,
then one trial post decides whether it closes again. The webhook URL is a secret and is
never logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import log, state
from shared.gcp import secret_manager

logger = log.get_logger("slack")
# httpx logs every request URL at INFO; the webhook URL is a secret, so keep it quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)
RETRYABLE = {429, 500, 502, 503, 504}


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    slack_webhook_url: SecretStr | None = Field(
        None,
        description=(
            "Incoming-webhook URL; unset: notifications go to the log and `GET /v1/alerts` only."
        ),
    )
    slack_webhook_url_resource: str | None = Field(
        None, description="Secret Manager resource holding the URL; wins over the plain value."
    )
    slack_timeout_seconds: float = Field(5.0, gt=0, le=30, description="Timeout of one Slack post.")
    slack_max_attempts: int = Field(
        4,
        ge=1,
        le=10,
        description="Attempts per notification on 429 and 5xx (Retry-After honoured).",
    )
    slack_max_elapsed_seconds: float = Field(
        15.0, gt=0, le=120, description="Time all attempts of one notification may take."
    )
    slack_backoff_seconds: float = Field(
        0.5, ge=0, le=10, description="First backoff between attempts (with jitter)."
    )
    slack_backoff_max_seconds: float = Field(
        5.0, ge=0, le=60, description="Longest backoff between attempts."
    )
    slack_breaker_threshold: int = Field(
        3, ge=1, le=100, description="Consecutive failures that open the circuit breaker."
    )
    slack_breaker_cooldown_seconds: float = Field(
        30.0, ge=0, le=3600, description="How long an open breaker refuses before trying again."
    )


@state.once
def get_slack_settings() -> SlackSettings:
    return SlackSettings()


class SlackUnavailable(Exception):
    """Slack could not take the message now (or the breaker is open); retry later."""


class SlackRejected(SlackUnavailable):
    """Slack refused the message (4xx other than 429): a retry now would not help."""


def webhook_url(settings: SlackSettings | None = None) -> str | None:
    settings = settings or get_slack_settings()
    if settings.slack_webhook_url_resource:
        return secret_manager.access(settings.slack_webhook_url_resource) or None
    if settings.slack_webhook_url is not None:
        return settings.slack_webhook_url.get_secret_value() or None
    return None


class CircuitBreaker:
    """Closed -> open after `threshold` failures in a row; half-open after `cooldown`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self.opened_at: float | None = None

    def allow(self, cooldown: float) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            if self._clock() - self.opened_at >= cooldown:
                self.opened_at = self._clock()  # half-open: one trial, others wait again
                return True
            return False

    def success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                logger.info("slack circuit closed")
            self.failures = 0
            self.opened_at = None

    def failure(self, threshold: int) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= threshold:
                if self.opened_at is None:
                    logger.warning(
                        "slack circuit opened", extra={"fields": {"failures": self.failures}}
                    )
                self.opened_at = self._clock()

    def reset(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None


breaker = CircuitBreaker()
state.on_reset(breaker.reset)
sleep: Callable[[float], None] = time.sleep  # replaced in tests to observe the waits


@dataclass(frozen=True)
class Delivery:
    attempts: int
    status: int


def post(url: str, payload: dict[str, Any], settings: SlackSettings | None = None) -> Delivery:
    """POST `payload` to the webhook; raise SlackUnavailable when it cannot be delivered."""
    import httpx

    settings = settings or get_slack_settings()
    if not breaker.allow(settings.slack_breaker_cooldown_seconds):
        raise SlackUnavailable("slack circuit is open; not calling Slack")
    started = time.monotonic()
    last = "no attempt"
    for attempt in range(1, settings.slack_max_attempts + 1):
        retry_after: float | None = None
        try:
            response = httpx.post(url, json=payload, timeout=settings.slack_timeout_seconds)
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        else:
            if response.status_code < 300:
                breaker.success()
                return Delivery(attempts=attempt, status=response.status_code)
            last = f"HTTP {response.status_code}"
            if response.status_code not in RETRYABLE:
                breaker.failure(settings.slack_breaker_threshold)
                raise SlackRejected(f"slack refused the message: {last} {response.text[:100]}")
            retry_after = _retry_after(response.headers.get("Retry-After"))
        wait = retry_after if retry_after is not None else _backoff(attempt, settings)
        elapsed = time.monotonic() - started
        if (
            attempt == settings.slack_max_attempts
            or elapsed + wait > settings.slack_max_elapsed_seconds
        ):
            break
        logger.info(
            "slack post failed; retrying",
            extra={"fields": {"attempt": attempt, "error": last, "waitSeconds": round(wait, 3)}},
        )
        sleep(wait)
    breaker.failure(settings.slack_breaker_threshold)
    raise SlackUnavailable(f"slack did not accept the message: {last}")


def _backoff(attempt: int, settings: SlackSettings) -> float:
    ceiling = min(
        settings.slack_backoff_max_seconds, settings.slack_backoff_seconds * 2 ** (attempt - 1)
    )
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff
