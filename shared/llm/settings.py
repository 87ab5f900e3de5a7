"""Settings of the model layer, and the one default model of the platform."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import state
from shared.core.settings import get_settings

# The model an agent gets when it names none (`CHAT_DEFAULT_MODEL` changes it).
DEFAULT_MODEL = "claude-sonnet-4-6"
OFFLINE_MODEL = "offline"


class ModelSettings(BaseSettings):
    """Settings of the model layer (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    anthropic_api_key: SecretStr | None = Field(None, description="Unset: the offline model.")
    anthropic_base_url: str | None = Field(None, description="Messages API base URL override.")
    anthropic_api_key_secret: str | None = Field(
        None,
        description="Secret Manager name of the key (`projects/P/secrets/S`); wins over the key.",
    )
    anthropic_key_cache_seconds: float = Field(
        300, ge=0, le=3600, description="How long a key read from Secret Manager is reused."
    )
    anthropic_timeout_seconds: float = Field(120, gt=0, le=900, description="Model call timeout.")
    anthropic_connect_timeout_seconds: float = Field(
        5, gt=0, le=60, description="Model API connect timeout."
    )
    anthropic_max_retries: int = Field(
        2,
        ge=0,
        le=5,
        description="The SDK's own retries (429, 5xx, honouring retry-after) before a run fails.",
    )
    chat_default_model: str = Field(
        DEFAULT_MODEL,
        description=(
            "The model of an agent that names none, and of the persona chat unless "
            "PERSONA_CHAT_MODEL is set."
        ),
    )
    chat_allowed_models: Annotated[list[str], NoDecode] = Field(
        ["claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5"],
        description=(
            "Models an agent may name (comma-separated); `offline` and CHAT_DEFAULT_MODEL are "
            "always allowed. Any other name is refused with 400."
        ),
    )
    chat_max_output_tokens: int = Field(
        1024, ge=1, le=64_000, description="Longest answer, in tokens."
    )
    chat_history_token_budget: int = Field(
        8000,
        ge=100,
        le=200_000,
        description="How much recent history (estimated tokens) a model request carries.",
    )
    # Routes that wait on the model get a budget of their own, above the model's timeout.
    chat_answer_deadline_seconds: float | None = Field(
        None,
        gt=0,
        le=3600,
        description=(
            "Budget of `POST /v1/conversations/{id}/messages` (the JSON answer; a stream must "
            "start within it): past it, 503 with Retry-After. Unset: ANTHROPIC_TIMEOUT_SECONDS "
            "+ REQUEST_DEADLINE_SECONDS."
        ),
    )
    persona_chat_deadline_seconds: float | None = Field(
        None,
        gt=0,
        le=3600,
        description=(
            "Budget of `POST /v1/personas/chat`: past it, 503 with Retry-After. Unset: "
            "ANTHROPIC_TIMEOUT_SECONDS + REQUEST_DEADLINE_SECONDS."
        ),
    )
    offline_chunk_delay_ms: float = Field(
        15, ge=0, le=1000, description="Pause between the offline model's chunks."
    )

    @field_validator("chat_allowed_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    def allows(self, model_name: str) -> bool:
        return model_name in (OFFLINE_MODEL, self.chat_default_model, *self.chat_allowed_models)


@state.once
def get_model_settings() -> ModelSettings:
    return ModelSettings()


def chat_answer_deadline_seconds() -> float:
    """The chat message route's budget (`CHAT_ANSWER_DEADLINE_SECONDS`)."""
    return _model_route_budget(get_model_settings().chat_answer_deadline_seconds)


def persona_chat_deadline_seconds() -> float:
    """The persona chat route's budget (`PERSONA_CHAT_DEADLINE_SECONDS`)."""
    return _model_route_budget(get_model_settings().persona_chat_deadline_seconds)


def _model_route_budget(explicit: float | None) -> float:
    # The model's own timeout, plus an ordinary request's budget for the Firestore work.
    if explicit is not None:
        return explicit
    return get_model_settings().anthropic_timeout_seconds + get_settings().request_deadline_seconds


def is_configured() -> bool:
    """True when a key (or its Secret Manager name) is set: Claude answers, not offline."""
    settings = get_model_settings()
    return bool(settings.anthropic_api_key_secret or settings.anthropic_api_key)
