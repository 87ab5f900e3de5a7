"""Who asked for an ops command, as the command records it (`requestedBy`, `confirmedBy`).

With `ADMIN_TOKEN` (locally) every operator is one: `operator (token)`. Behind Cloud Run
IAM the function has no public invoker, so Cloud Run has already verified the caller's
Google identity token before the request arrives; its payload is read here, not
verified again, for the caller's e-mail. Cloud Run verifies `X-Serverless-Authorization`
when a caller sends it (and then passes `Authorization` through untouched), so that
header is read first. A token without a readable e-mail is `operator (iam)`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Protocol

TOKEN = "operator (token)"  # noqa: S105 - a name, not a secret
IAM = "operator (iam)"
# An identity token is a few kilobytes at most; a larger header is not read.
MAX_TOKEN_CHARS = 16_000


class Headers(Protocol):
    def get(self, key: str) -> str | None: ...


_EMAIL = re.compile(r"^[^\s@]{1,128}@[^\s@]{1,125}$")


def requested_by(via: str, headers: Headers) -> str:
    """The requester: `via` is how the operator was admitted (`token` or `iam`)."""
    if via != "iam":
        return TOKEN
    for name in ("X-Serverless-Authorization", "Authorization"):
        header = headers.get(name)
        if header:
            return _email(header) or IAM
    return IAM


def _email(header: str) -> str | None:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or len(token) > MAX_TOKEN_CHARS:
        return None
    payload = _payload(token.strip())
    email = payload.get("email") if payload else None
    if not isinstance(email, str) or not _EMAIL.match(email):
        return None
    return email


def _payload(token: str) -> dict[str, Any] | None:
    """A JWT's payload (its middle part), decoded without checking the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    encoded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None
