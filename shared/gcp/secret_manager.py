"""Secret values from Secret Manager, fetched lazily and cached for a short time.

A setting may hold a secret's value directly (local runs, or Cloud Run's env injection)
or a resource name (`projects/P/secrets/S/versions/latest`). The cache is short so a
rotated secret is picked up without a redeploy; `google.cloud.secretmanager` is imported
only when a resource name is actually used.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shared.core import state

_CACHE_SECONDS = 300.0
_lock = threading.Lock()
_client: Any = None
_cache: dict[str, tuple[str, float]] = {}


def _secret_client() -> Any:
    global _client  # noqa: PLW0603 - one client per process, created on first use
    with _lock:
        if _client is None:
            from google.cloud import secretmanager

            _client = secretmanager.SecretManagerServiceClient()
        return _client


def access(resource: str, *, max_age: float = _CACHE_SECONDS) -> str:
    """The payload of a secret version (`.../versions/latest` when no version is given)."""
    name = resource if "/versions/" in resource else f"{resource.rstrip('/')}/versions/latest"
    now = time.monotonic()
    with _lock:
        cached = _cache.get(name)
    if cached is not None and cached[1] > now:
        return cached[0]
    response = _secret_client().access_secret_version(request={"name": name})
    value = str(response.payload.data.decode("utf-8")).strip()
    with _lock:
        _cache[name] = (value, now + max_age)
    return value


@state.on_reset
def clear_cache() -> None:
    with _lock:
        _cache.clear()
