"""Guest sessions in Firestore: created, looked up by token hash, revoked.

The bearer token is never stored: the document id is its SHA-256, so a leaked database
export holds nothing that authenticates. Firestore's TTL policy on `expiresAt` removes
expired sessions; lookups also refuse them, since TTL deletion can lag by a day.

A token ends with the user id it was issued to (`gst_<secret>.usr_<hex>`): not a secret
(answers show it), but it lets a read-only route start its query while the session is
read (`shared.identity.auth.claim`). The hash covers the whole token, so a token with
another user id appended is an unknown session. Tokens without the suffix still work.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.core import ids
from shared.core.models import utcnow
from shared.core.settings import get_settings
from shared.gcp import clients
from shared.identity.models import SessionCreated, SessionPublic

COLLECTION = "sessions"
TOKEN_PREFIX = "gst_"  # noqa: S105 - a public marker, not a secret
# 32 random bytes in URL-safe base64 are 43 characters, then the owner's id (optional).
TOKEN_PATTERN = re.compile(r"^gst_[A-Za-z0-9_-]{43}(?:\.(usr_[0-9a-f]{24}))?$")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    user_id: str
    session_id: str
    expires_at: datetime
    token_hash: str

    def public(self) -> SessionPublic:
        return SessionPublic(
            session_id=self.session_id, user_id=self.user_id, expires_at=self.expires_at
        )

    def created(self, token: str) -> SessionCreated:
        """The answer to the session's creation: the only time its token is shown."""
        return SessionCreated(
            session_id=self.session_id,
            user_id=self.user_id,
            token=token,
            expires_at=self.expires_at,
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session() -> tuple[str, Principal]:
    """Store a new guest session; returns the token (shown once) and its principal."""
    user_id = ids.new_id("usr")
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}.{user_id}"
    now = utcnow()
    principal = Principal(
        user_id=user_id,
        session_id=ids.new_id("ses"),
        expires_at=now + timedelta(hours=get_settings().session_ttl_hours),
        token_hash=hash_token(token),
    )
    clients.firestore().collection(COLLECTION).document(principal.token_hash).create(
        {
            "sessionId": principal.session_id,
            "userId": principal.user_id,
            "createdAt": now,
            "expiresAt": principal.expires_at,
        }
    )
    return token, principal


def claimed_user_id(token: str) -> str | None:
    """The user id a well-formed token ends with (unverified), if it has one."""
    match = TOKEN_PATTERN.match(token)
    return match.group(1) if match else None


def find_live_session(token_hash: str) -> Principal | None:
    """The session with this token hash, unless it is unknown, revoked or expired."""
    snapshot = clients.firestore().collection(COLLECTION).document(token_hash).get()
    if not snapshot.exists:
        return None
    record = snapshot.to_dict() or {}
    expires_at = record.get("expiresAt")
    if not isinstance(expires_at, datetime) or expires_at <= utcnow():
        return None
    return Principal(
        user_id=str(record["userId"]),
        session_id=str(record["sessionId"]),
        expires_at=expires_at,
        token_hash=token_hash,
    )


def revoke_session(principal: Principal) -> None:
    """Delete the session: its token is unknown from now on."""
    clients.firestore().collection(COLLECTION).document(principal.token_hash).delete()
