"""Resource ids: a prefix naming the kind, then 96 random bits in hex.

Random ids spread documents evenly over Firestore's key space (no hot ranges, unlike
timestamps or counters), and checking a path parameter against its kind's shape before it
reaches Firestore keeps out ids Firestore refuses with an error (`a/b`, `__x__`).
"""

from __future__ import annotations

import re
import secrets
from functools import cache

_RANDOM_BYTES = 12


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(_RANDOM_BYTES)}"


@cache
def _shape(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(prefix)}_[0-9a-f]{{{2 * _RANDOM_BYTES}}}")


def is_id(prefix: str, value: str) -> bool:
    """True if `value` has the shape `new_id(prefix)` gives."""
    return _shape(prefix).fullmatch(value) is not None
