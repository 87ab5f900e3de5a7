"""Base models: camelCase on the wire, snake_case in Python, unknown request fields refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """A response body: camelCase JSON."""

    # Schemas are built on first use, not at import: a cold start pays only for the
    # models its first request touches.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class RequestModel(ApiModel):
    """A request body or query: unknown fields are a 400, not silently dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True
    )


# Characters that reorder how text displays (bidi overrides and isolates): in names they
# disguise one string as another. Zero-width characters alone look blank.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def printable(value: str) -> str:
    """Refuse NUL and other control characters (tab and line breaks are text) and bidi
    overrides and isolates."""
    for char in value:
        code = ord(char)
        if char in _BIDI_CONTROLS:
            raise ValueError(
                f"must not contain bidirectional control characters (found U+{code:04X})"
            )
        if (code < 0x20 and char not in "\t\n\r") or 0x7F <= code <= 0x9F:
            raise ValueError(f"must not contain control characters (found U+{code:04X})")
    return value


def not_blank(value: str) -> str:
    """Trim surrounding whitespace; refuse what is only whitespace."""
    stripped = value.strip()
    if not stripped.strip(_ZERO_WIDTH).strip():
        raise ValueError("must not be blank (whitespace or zero-width characters only)")
    return stripped


def one_line(value: str) -> str:
    if any(char in value for char in "\t\n\r"):
        raise ValueError("must be one line (no tabs or line breaks)")
    return value


# Text that may be empty but holds no control characters (tab and line breaks allowed).
Prose = Annotated[str, AfterValidator(printable)]
# Free text that must say something. Length limits apply to the text as sent (so the
# OpenAPI schema tells the truth); surrounding whitespace is dropped afterwards.
Text = Annotated[str, AfterValidator(printable), AfterValidator(not_blank)]
# A name or a label: Text on one line.
Line = Annotated[Text, AfterValidator(one_line)]
# Inside another Annotated, a length limit would apply after the trim: bounded text is
# written `Annotated[str, Field(max_length=...), AfterValidator(printable), ...]` instead.


class EmptyBody(RequestModel):
    """A request that takes no fields (an empty body or `{}`)."""


def utcnow() -> datetime:
    return datetime.now(UTC)
