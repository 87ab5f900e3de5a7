"""How long a guest's data outlives the guest's session.

A guest's agents, conversations, messages and counters carry `expiresAt` = the session's
expiry + `GUEST_DATA_RETENTION_DAYS`, written with them; Firestore's TTL policies
(infra/firestore.tf) delete them after that, and the sweep (`shared.chat.sweeps`)
erases what TTL cannot reach (data written before the field existed, stat shards).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import state

EXPIRY_FIELD = "expiresAt"


class RetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    guest_data_retention_days: int = Field(
        30,
        ge=0,
        le=3650,
        description=(
            "Days a guest's agents, conversations, messages and counters are kept after the "
            "guest's session expires; then Firestore TTL and the sweep remove them."
        ),
    )


@state.once
def get_retention_settings() -> RetentionSettings:
    return RetentionSettings()


def data_expiry(session_expires_at: datetime | None) -> datetime | None:
    """When a guest's data may go, given the session's expiry (None: unknown, kept)."""
    if session_expires_at is None:
        return None
    return session_expires_at + timedelta(days=get_retention_settings().guest_data_retention_days)
