"""Per-user chat limits in Firestore: messages per minute and model tokens per day.

One document per user (`quotas/{userId}`) holds a fixed one-minute window of messages and
the tokens spent on the current UTC day. A user sends a few messages a minute, far below
Firestore's ~1 write/s per document, so one document per user does not run hot. Limits
are checked before anything is stored and the count is written in the message's own
commit (`stage_admission`), so a refused message leaves no trace; tokens are
counted when the answer is finished (an answer in flight may overshoot the day's budget
by one reply, which is the price of not reserving tokens up front).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, log, state
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.web import response_headers

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

COLLECTION = "quotas"
WINDOW = timedelta(minutes=1)
logger = log.get_logger("quotas")


class QuotaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_messages_per_minute: int = Field(20, ge=0, description="Per user; 0 = unlimited.")
    chat_tokens_per_day: int = Field(200_000, ge=0, description="Per user, UTC day; 0 = off.")
    chat_max_messages_per_conversation: int = Field(
        1000,
        ge=2,
        le=100_000,
        description="Messages a conversation may hold (questions and answers); 409 beyond.",
    )


@state.once
def get_quota_settings() -> QuotaSettings:
    return QuotaSettings()


def quota_ref(user_id: str) -> Any:
    return clients.firestore().collection(COLLECTION).document(user_id)


def enabled() -> bool:
    settings = get_quota_settings()
    return bool(settings.chat_messages_per_minute or settings.chat_tokens_per_day)


def _seconds_to_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - now).total_seconds())


def stage_admission(batch: Any, snapshot: Any) -> None:
    """Count one message of the user whose quota document `snapshot` is, or `RateLimited`.

    The count goes into `batch` on the condition that the document is unchanged since it
    was read (or still missing), so concurrent messages cannot both take the last slot.
    """
    settings = get_quota_settings()
    now = utcnow()
    record = (snapshot.to_dict() if snapshot.exists else None) or {}
    day = now.date().isoformat()
    day_tokens = int(record.get("dayTokens", 0)) if record.get("day") == day else 0
    if settings.chat_tokens_per_day and day_tokens >= settings.chat_tokens_per_day:
        raise errors.RateLimited(
            f"daily token budget spent: {day_tokens} of {settings.chat_tokens_per_day}",
            retry_after=_seconds_to_midnight(now),
            limit=settings.chat_tokens_per_day,
            window_seconds=86400,
            policy="tokens-per-day",
        )
    started = record.get("windowStart")
    count = int(record.get("windowCount", 0))
    if not isinstance(started, datetime) or now - started >= WINDOW:
        started, count = now, 0
    limit = settings.chat_messages_per_minute
    if limit and count >= limit:
        raise errors.RateLimited(
            f"at most {limit} messages per minute",
            retry_after=math.ceil((started + WINDOW - now).total_seconds()),
            limit=limit,
            window_seconds=int(WINDOW.total_seconds()),
            policy="messages-per-minute",
        )
    if limit:
        reset = math.ceil((started + WINDOW - now).total_seconds())
        window = int(WINDOW.total_seconds())
        fields_of_limit = errors.rate_limit_fields(
            "messages-per-minute", limit, window, limit - count - 1, reset
        )
        response_headers.add(fields_of_limit)
    fields = {
        "windowStart": started,
        "windowCount": count + 1,
        "day": day,
        "dayTokens": day_tokens,
        "updatedAt": now,
        "expiresAt": now + timedelta(days=2),
    }
    if snapshot.exists:
        unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
        batch.update(snapshot.reference, fields, option=unchanged)
    else:
        batch.create(snapshot.reference, fields)


def admit_message(user_id: str) -> None:
    """Count one message for the user, or raise `RateLimited` with a Retry-After."""
    if not enabled():
        return

    def attempt() -> None:
        batch = clients.firestore().batch()
        stage_admission(batch, quota_ref(user_id).get())
        batch.commit()

    firestore.optimistic(attempt)


def record_tokens(user_id: str, tokens: int) -> None:
    """Add an answer's tokens to the user's day; a failure is logged, never raised."""
    if tokens <= 0 or not get_quota_settings().chat_tokens_per_day:
        return
    from google.cloud import firestore

    ref = quota_ref(user_id)

    @firestore.transactional
    def add(transaction: Transaction) -> None:
        now = utcnow()
        record = ref.get(transaction=transaction).to_dict() or {}
        day = now.date().isoformat()
        spent = int(record.get("dayTokens", 0)) if record.get("day") == day else 0
        transaction.set(
            ref,
            {"day": day, "dayTokens": spent + tokens, "updatedAt": now},
            merge=True,
        )

    try:
        add(clients.firestore().transaction())
    except Exception as exc:  # noqa: BLE001 - the answer is stored; quota upkeep is best effort
        logger.warning("token count not recorded", extra={"fields": {"error": repr(exc)[:200]}})
