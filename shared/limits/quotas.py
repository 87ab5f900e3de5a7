"""Per-user chat limits in Firestore: messages per minute and model tokens per day.

One document per user (`quotas/{userId}`) holds a fixed one-minute window of messages.
A user sends a few messages a minute, far below Firestore's ~1 write/s per document, so
one document per user does not run hot. The limit is checked before anything is stored
and the count is written in the message's own commit (`stage_admission`), so a refused
message leaves no trace. Tokens are counted by `shared.limits.spend` (reserved before a
chat run's model call, settled after); `CHAT_TOKENS_PER_DAY` is the guest's meter there.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, log, state
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.limits import spend
from shared.web import response_headers

COLLECTION = "quotas"
WINDOW = timedelta(minutes=1)
logger = log.get_logger("quotas")


class QuotaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_messages_per_minute: int = Field(20, ge=0, description="Per user; 0 = unlimited.")
    chat_tokens_per_day: int = Field(
        200_000,
        ge=0,
        description=(
            "Model tokens per guest per UTC day; a chat run reserves its longest answer plus an "
            "upper estimate of its input before the model call and settles after; 0 = off."
        ),
    )
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
    started = record.get("windowStart")
    count = int(record.get("windowCount", 0))
    if not isinstance(started, datetime) or now - started >= WINDOW:
        started, count = now, 0
    limit = settings.chat_messages_per_minute
    if limit and count >= limit:
        raise errors.RateLimited(
            f"chat messages per guest per minute: at most {limit}",
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
        "updatedAt": now,
        "expiresAt": now + timedelta(days=2),
    }
    if snapshot.exists:
        unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
        batch.update(snapshot.reference, fields, option=unchanged)
    else:
        batch.create(snapshot.reference, fields)


def admit_message(user_id: str) -> None:
    """Count one message for the user, or raise `RateLimited` with a Retry-After (also
    when the user's daily tokens are spent: for calls that count tokens afterwards)."""
    if not enabled():
        return
    check_tokens(user_id)

    def attempt() -> None:
        batch = clients.firestore().batch()
        stage_admission(batch, quota_ref(user_id).get())
        batch.commit()

    firestore.optimistic(attempt)


def check_tokens(user_id: str) -> None:
    """`RateLimited` once the user's daily token budget is spent."""
    limit = get_quota_settings().chat_tokens_per_day
    spent = spend.tokens_spent_today(user_id) if limit else 0
    if limit and spent >= limit:
        raise errors.RateLimited(
            f"daily token budget of this guest spent: {spent} of {limit}",
            retry_after=_seconds_to_midnight(utcnow()),
        )
