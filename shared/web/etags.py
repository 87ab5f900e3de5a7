"""Entity tags (AIP-154): `ETag` on reads and writes, `If-Match` on changes (412 otherwise).

A resource's ETag is a hash of its version, the stored `updatedAt` its writers set, so it
changes exactly when a client-visible write does. The check belongs inside the write's
transaction (`check_if_match` there), so a concurrent change cannot slip between.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.core import errors

HEADER = "If-Match"


def etag_of(version: datetime | str) -> str:
    """The strong ETag of a resource at `version` (a quoted opaque string)."""
    text = version.isoformat() if isinstance(version, datetime) else str(version)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:24] + '"'


def check_if_match(if_match: str | None, current: str) -> None:
    """Nothing without `If-Match` or with `*`; 412 unless one of its tags is `current`,
    compared strongly (RFC 9110 13.1.1): a weak tag (`W/"..."`) never matches."""
    if if_match is None:
        return
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or current in tags:
        return
    raise errors.PreconditionFailed(
        f"If-Match {if_match[:80]!r} does not match the current ETag {current}; "
        "read the resource again and retry with its ETag"
    )
