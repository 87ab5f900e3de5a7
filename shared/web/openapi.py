"""OpenAPI 3.1 documents generated from an `Api`'s routes and their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.core import errors
from shared.web.bodies import ErrorBody
from shared.web.route import Route

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + _camel(m.group(1)) + "}", rule)


def _event_stream(route: Route, ref: Any) -> dict[str, Any]:
    """SSE frames as a string; `x-sse-events` names each event and the schema of its data."""
    schema: dict[str, Any] = {"type": "string"}
    if route.events:
        names = ", ".join(f"`{name}`" for name, _ in route.events)
        schema["description"] = f"SSE frames `event: <name>` / `data: <JSON>`; events: {names}."
        schema["x-sse-events"] = {name: ref(model, "serialization") for name, model in route.events}
    return schema


def build_document(
    title: str, version: str, component: str, routes: Iterable[Route]
) -> dict[str, Any]:
    """The document of one function's routes; error statuses are described by their class."""
    routes = list(routes)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for route in routes:
        if route.body is not None:
            models.append((route.body, "validation"))
        if route.response is not None:
            models.append((route.response, "serialization"))
        models.extend((event, "serialization") for _, event in route.events)
    keys, schema = models_json_schema(
        list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}"
    )

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(keys[(model, mode)])

    error_ref = ref(ErrorBody, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
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
                success["content"]["text/event-stream"] = {"schema": _event_stream(route, ref)}
        responses[str(route.status)] = success
        for status in sorted(statuses):
            responses[str(status)] = {
                "description": errors.summary_of(status),
                "content": {"application/json": {"schema": error_ref}},
            }
        for method in route.methods:
            operation: dict[str, Any] = {
                "operationId": f"{component}.{route.handler.__name__}.{method.lower()}",
                "summary": route.summary,
                "tags": list(route.tags) or [component],
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
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
