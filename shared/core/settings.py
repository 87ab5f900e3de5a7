"""Configuration from environment variables, validated once at startup."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import state


class Settings(BaseSettings):
    """Every setting the platform reads. Bad values fail at import, not mid-request."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    google_cloud_project: str = Field(
        "demo-agent-platform", description="Project id; `demo-*` works with the emulators."
    )
    environment: str = Field(
        "local",
        pattern=r"^(local|test|staging|production)$",
        description="`local`, `test`, `staging` or `production`.",
    )
    log_level: str = Field(
        "INFO",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        description="Lowest severity written to the log.",
    )
    log_format: Literal["json", "text"] | None = Field(
        None,
        description=(
            "`json` (Cloud Logging) or `text` (compact coloured lines; `NO_COLOR` turns the "
            "colours off). Unset: `text` when ENVIRONMENT is `local` (`make run`), else `json`."
        ),
    )
    access_log: bool = Field(
        True, description="One log line per request; off on Cloud Run, which logs requests."
    )

    max_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=32 * 1024 * 1024,
        description="Request body limit; larger bodies get 413 before they are parsed.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins that get CORS headers; none by default.",
    )
    # Index from the right of X-Forwarded-For that holds the client address: 1 when one
    # proxy appends the peer (the local gateway), 2 behind Google's load balancer.
    forwarded_client_hop: int = Field(
        1,
        ge=1,
        le=5,
        description=(
            "Which X-Forwarded-For entry, from the right, is the client: 1 behind one proxy (the "
            "local gateway), 2 behind Google's load balancer."
        ),
    )

    request_deadline_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description=(
            "Every HTTP route answers within this budget: past it, 503 with Retry-After, and "
            "the request commits nothing more. Routes that wait on the model or run for a set "
            "time have longer budgets of their own: CHAT_ANSWER_DEADLINE_SECONDS, "
            "PERSONA_CHAT_DEADLINE_SECONDS, LOADTEST_RUN_DEADLINE_SECONDS."
        ),
    )
    firestore_call_timeout_seconds: float = Field(
        4.0,
        gt=0,
        le=300,
        description=(
            "How long one Firestore call may take, its retries included (the client "
            "libraries' own defaults wait 60-300 s for a dead or frozen Firestore); less "
            "when the request's deadline is nearer."
        ),
    )

    session_ttl_hours: float = Field(24.0, gt=0, le=24 * 30, description="Guest session lifetime.")
    session_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description=(
            "How long an instance trusts a session it has verified (how long a revocation takes "
            "to reach other instances)."
        ),
    )
    session_create_per_minute: int = Field(
        10,
        ge=0,
        description=(
            "Guest sessions one client address may create per minute, across all instances "
            "(counted in Firestore); 0 = off. Terraform gives Cloud Armor's session throttle "
            "the same number."
        ),
    )

    admin_token: SecretStr | None = Field(
        None, description="Bearer token for operator routes locally; unset: they answer 401."
    )
    operator_auth: Literal["token", "iam"] = Field(
        "token",
        description="`iam` trusts Cloud Run IAM (no public invoker) to admit only operators.",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value


@state.once
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
