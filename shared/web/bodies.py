"""The JSON error body every route answers with, and how a `PlatformError` becomes one."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

from shared.core import errors
from shared.core.models import ApiModel


class ErrorDetail(ApiModel):
    code: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="What was expected and what was found.")
    request_id: str | None = None
    details: list[dict[str, object]] = Field(default_factory=list)


class ErrorBody(ApiModel):
    """The shape of `PlatformError.body()`, for the OpenAPI documents."""

    error: ErrorDetail


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        payload = body.model_dump_json(by_alias=True)
    else:
        payload = json.dumps(body, default=str, separators=(",", ":"))
    return Response(payload, status=status, headers=headers, mimetype="application/json")


def error_response(exc: errors.PlatformError, request_id: str | None) -> Response:
    """The contract's JSON error with the status and headers the error class carries."""
    return json_response(exc.body(request_id), exc.status, exc.headers())
