"""Bearer-token authentication against `sessions`, with a short in-process cache.

A cached session is trusted for at most `SESSION_CACHE_SECONDS` (5 s by default), so a
session revoked through another instance is refused everywhere within that time; the
instance that revokes it forgets it at once.

Past that time the entry still says that this instance confirmed the token before, which
is what `claim` needs: a read-only route reads alongside the session check only for such
a token. A token never confirmed here (a forged `gst_<random>.usr_<victim>` among them)
is checked first and refused before anything of the user it names is read.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass

from werkzeug.wrappers import Request

from shared.core import errors, state
from shared.core.models import utcnow
from shared.core.settings import get_settings
from shared.identity.sessions import (
    TOKEN_PATTERN,
    Principal,
    claimed_user_id,
    find_live_session,
    hash_token,
)

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
    # Kept even with the cache off (trusted until `now`, i.e. never): `claim` reads it.
    fresh_until = now + get_settings().session_cache_seconds
    with _lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[token_hash] = (principal, fresh_until)
    return principal


@dataclass(frozen=True)
class Claim:
    """The owner a token names before its session is read: enough for a read-only route
    to start its query; the edge answers only once the session confirms it."""

    user_id: str

    def confirmed_by(self, principal: Principal) -> bool:
        return principal.user_id == self.user_id


def claim(request: Request) -> Claim | None:
    """What the token claims, when reading the session alongside is worth it and safe: a
    token this instance confirmed before whose cached session is no longer trusted. Not
    for a malformed token (`authenticate` refuses it first), a token without a user id, a
    session the cache still trusts (answered without a read), or a token never confirmed
    here: checking that one first means a forged token naming another user starts no
    read of that user's data, and its 401 takes the same time whoever it names."""
    header = request.headers.get("Authorization", "")
    token = header.partition(" ")[2].strip()
    user_id = claimed_user_id(token)
    if user_id is None:
        return None
    with _lock:
        cached = _cache.get(hash_token(token))
    if cached is None or cached[1] > time.monotonic():
        return None
    return Claim(user_id)


def forget(token_hash: str) -> None:
    with _lock:
        _cache.pop(token_hash, None)


@state.on_reset
def clear_cache() -> None:
    with _lock:
        _cache.clear()


@dataclass(frozen=True)
class Operator:
    """An operator: someone allowed on alert and load-test routes."""

    via: str


def authenticate_operator(request: Request) -> Operator:
    """Admit operators: Cloud Run IAM in production, `ADMIN_TOKEN` locally."""
    settings = get_settings()
    if settings.operator_auth == "iam":
        # The function has no public invoker; Cloud Run already checked the caller's
        # identity token against the operators' and the scheduler's roles.
        return Operator(via="iam")
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise errors.Unauthenticated("operator routes are disabled: ADMIN_TOKEN is not set")
    if not bears_admin_token(request):
        raise errors.Unauthenticated("operator routes need 'Authorization: Bearer <ADMIN_TOKEN>'")
    return Operator(via="token")


def bears_admin_token(request: Request) -> bool:
    """Whether the request's bearer token is `ADMIN_TOKEN` (never, when none is set);
    compared in constant time."""
    admin = get_settings().admin_token
    expected = admin.get_secret_value() if admin else ""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())
