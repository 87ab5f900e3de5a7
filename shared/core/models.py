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


def not_blank(value: str) -> str:
    """Trim surrounding whitespace; refuse what is only whitespace."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


# Free text that must say something. Length limits apply to the text as sent (so the
# OpenAPI schema tells the truth); surrounding whitespace is dropped afterwards.
Text = Annotated[str, AfterValidator(not_blank)]
# Inside another Annotated, a length limit would apply after the trim: bounded text is
# written `Annotated[str, Field(max_length=...), AfterValidator(not_blank)]` instead.


class EmptyBody(RequestModel):
    """A request that takes no fields (an empty body or `{}`)."""


def utcnow() -> datetime:
    return datetime.now(UTC)
