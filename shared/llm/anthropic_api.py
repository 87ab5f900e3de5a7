"""The `anthropic` SDK behind `shared.llm.model`: the key, one client, and error translation.

Imported only when a real call is made (`import anthropic` costs ~1.4 s). The key comes
from `ANTHROPIC_API_KEY`, or from Secret Manager when `ANTHROPIC_API_KEY_SECRET` names a
secret: cached for `ANTHROPIC_KEY_CACHE_SECONDS`, and read again at once when the API
answers 401 (the key was rotated). The SDK retries 408/409/429/5xx itself
(`ANTHROPIC_MAX_RETRIES`, honouring `retry-after`); what is left becomes a `ModelError`.
"""

from __future__ import annotations

import threading
from typing import Any

import anthropic

from shared.core import log, state
from shared.llm.errors import ModelError, ModelFailed, ModelUnavailable
from shared.llm.settings import get_model_settings

logger = log.get_logger("model")

_lock = threading.Lock()
_client: tuple[str, Any] | None = None  # (key, anthropic.Anthropic)


def api_key(refresh: bool = False) -> str:
    """The key: from Secret Manager (cached, re-read after `refresh`) or the environment."""
    settings = get_model_settings()
    if not settings.anthropic_api_key_secret:
        return settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
    from shared.gcp import secret_manager

    if refresh:
        secret_manager.clear_cache()
    return secret_manager.access(
        settings.anthropic_api_key_secret, max_age=settings.anthropic_key_cache_seconds
    )


def client(refresh: bool = False) -> Any:
    global _client  # noqa: PLW0603 - one SDK client per key, reused across requests
    key = api_key(refresh)
    with _lock:
        if _client is None or _client[0] != key:
            settings = get_model_settings()
            timeout = anthropic.Timeout(
                settings.anthropic_timeout_seconds,
                connect=settings.anthropic_connect_timeout_seconds,
            )
            _client = (
                key,
                anthropic.Anthropic(
                    api_key=key,
                    base_url=settings.anthropic_base_url,
                    timeout=timeout,
                    max_retries=settings.anthropic_max_retries,
                ),
            )
        return _client[1]


def call(send: Any) -> Any:
    """Send with the SDK; a 401 re-reads the key once (it may have been rotated)."""
    try:
        return send(client())
    except anthropic.AuthenticationError:
        if not get_model_settings().anthropic_api_key_secret:
            raise ModelFailed("model_auth_failed", "the model API refused the key") from None
        logger.warning("model API refused the key; reading the secret again")
        try:
            return send(client(refresh=True))
        except anthropic.APIError as exc:
            raise translate(exc) from None
    except anthropic.APIError as exc:
        raise translate(exc) from None


def _retry_after(exc: Any, default: int) -> int:
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(1, min(int(float(header)), 300)) if header else default
    except ValueError:
        return default


def translate(exc: Exception) -> ModelError:
    """An SDK error as the platform's error, after the SDK's own retries."""
    kind = ""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        kind = str(body["error"].get("type", ""))
    status = getattr(exc, "status_code", None)
    if isinstance(exc, anthropic.APITimeoutError):
        return ModelUnavailable("model_timeout", "the model API did not answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        return ModelUnavailable("model_unreachable", "the model API could not be reached")
    if status == 429 or kind == "rate_limit_error":
        return ModelUnavailable(
            "model_rate_limited", "the model API is rate limited", retry_after=_retry_after(exc, 10)
        )
    if status == 529 or kind == "overloaded_error":
        return ModelUnavailable(
            "model_overloaded", "the model API is overloaded", retry_after=_retry_after(exc, 10)
        )
    if isinstance(exc, anthropic.AuthenticationError):
        return ModelFailed("model_auth_failed", "the model API refused the key")
    if isinstance(status, int) and status < 500 and kind != "api_error":
        return ModelFailed("model_rejected", f"the model API refused the request ({status})")
    return ModelFailed("model_error", "the model API failed", retry_after=_retry_after(exc, 5))


@state.on_reset
def forget_client() -> None:
    global _client  # noqa: PLW0603
    with _lock:
        _client = None
