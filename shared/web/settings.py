"""Settings of the HTTP contract's conventions: idempotent retries and SSE keep-alives."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import state


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    idempotency_ttl_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 30,
        description=(
            "How long the first answer to an `Idempotency-Key` is kept and replayed "
            "(Firestore TTL on `idempotency_keys.expiresAt`)."
        ),
    )
    idempotency_lease_seconds: float = Field(
        900.0,
        ge=1,
        le=24 * 3600,
        description=(
            "How long a request in flight holds its `Idempotency-Key` (a duplicate meanwhile "
            "gets 409); past it, a crashed request's key may be used again."
        ),
    )
    sse_keepalive_seconds: float = Field(
        15.0,
        gt=0,
        le=60,
        description="Longest silence on an SSE stream before a keep-alive comment is sent.",
    )


@state.once
def get_web_settings() -> WebSettings:
    return WebSettings()
