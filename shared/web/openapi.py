"""OpenAPI 3.1 documents generated from an `Api`'s routes and their pydantic models."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.core.models import ErrorBody

if TYPE_CHECKING:
    from shared.web.api import Api

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_REASONS = {
    400: "Invalid request (details name the fields)",
    401: "Missing, malformed, unknown, expired or revoked credentials",
    403: "Origin not allowed",
    404: "Not found (or not yours)",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body too large",
    415: "Content-Type is not application/json",
    422: "Well-formed but not processable",
    429: "Rate limited; see Retry-After",
    502: "An upstream service failed",
    503: "A dependency is unavailable; see Retry-After",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + _camel(m.group(1)) + "}", rule)


def build_document(api: Api) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for route in api.routes.values():
        if route.body is not None:
            models.append((route.body, "validation"))
        if route.response is not None:
            models.append((route.response, "serialization"))
    keys, schema = models_json_schema(
        list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}"
    )

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(keys[(model, mode)])

    error_ref = ref(ErrorBody, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes.values():
        if route.path == "/openapi.json":
            continue
        path = openapi_path(route.path)
        parameters: list[dict[str, Any]] = [
            {"name": _camel(name), "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
        ]
        if route.query is not None:
            query_schema = route.query.model_json_schema(by_alias=True)
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                parameters.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        statuses = set(route.error_statuses) | {400, 404, 405, 503}
        if route.auth is not None:
            statuses.add(401)
        if route.body is not None or route.raw_body:
            statuses |= {413, 415}
        responses: dict[str, Any] = {}
        success: dict[str, Any] = {"description": "Success"}
        if route.response is not None:
            success["content"] = {
                "application/json": {"schema": ref(route.response, "serialization")}
            }
            if route.streams:
                success["content"]["text/event-stream"] = {"schema": {"type": "string"}}
        responses[str(route.status)] = success
        for status in sorted(statuses):
            responses[str(status)] = {
                "description": _REASONS.get(status, "Error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        for method in route.methods:
            operation: dict[str, Any] = {
                "operationId": f"{api.component}.{route.handler.__name__}.{method.lower()}",
                "summary": route.summary,
                "tags": list(route.tags) or [api.component],
                "parameters": parameters,
                "responses": responses,
            }
            if route.body is not None:
                operation["requestBody"] = {
                    "required": False,
                    "content": {"application/json": {"schema": ref(route.body, "validation")}},
                }
            if route.auth is not None:
                operation["security"] = [{"bearerAuth": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
