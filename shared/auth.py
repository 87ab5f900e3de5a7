"""Bearer-token authentication against `sessions`, with a short in-process cache.

A cached session is trusted for at most `SESSION_CACHE_SECONDS` (5 s by default), so a
session revoked through another instance is refused everywhere within that time; the
instance that revokes it forgets it at once.
"""

from __future__ import annotations

import threading
import time

from werkzeug.wrappers import Request

from shared import errors
from shared.models import utcnow
from shared.sessions import TOKEN_PATTERN, Principal, find_live_session, hash_token
from shared.settings import get_settings

_MAX_CACHED = 10_000
_cache: dict[str, tuple[Principal, float]] = {}
_lock = threading.Lock()


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header:
        raise errors.Unauthenticated("missing Authorization header; expected 'Bearer <token>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not TOKEN_PATTERN.match(token):
        raise errors.Unauthenticated("malformed Authorization header; expected 'Bearer <token>'")
    return token


def authenticate(request: Request) -> Principal:
    """The principal of a live session, or `Unauthenticated`."""
    token_hash = hash_token(bearer_token(request))
    now = time.monotonic()
    with _lock:
        cached = _cache.get(token_hash)
    if cached is not None and cached[1] > now and cached[0].expires_at > utcnow():
        return cached[0]
    principal = find_live_session(token_hash)
    if principal is None:
        forget(token_hash)
        raise errors.Unauthenticated("the session is unknown, expired or revoked")
    ttl = get_settings().session_cache_seconds
    if ttl > 0:
        with _lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.clear()
            _cache[token_hash] = (principal, now + ttl)
    return principal


def forget(token_hash: str) -> None:
    with _lock:
        _cache.pop(token_hash, None)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
