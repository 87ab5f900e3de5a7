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
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "A unique key per intended request: a retry with the same key and body replays the "
        "first answer (`Idempotent-Replayed: true`) for IDEMPOTENCY_TTL_HOURS (24 h by "
        "default) and runs nothing again; another "
        "body with the key is 422, a retry while the first runs is 409."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Change only if the resource's ETag is still this one (412 otherwise).",
    "schema": {"type": "string"},
}
_LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "description": "The `id` of the last event received: the stream resumes after it.",
    "schema": {"type": "string"},
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + _camel(m.group(1)) + "}", rule)


SERVERS = [
    {
        "url": "/",
        "description": "The platform's origin: the load balancer, or `make run`'s gateway.",
    }
]
# Response headers, described once and referenced (`components.headers`).
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "Identifies the request in the logs (sent back when the client sent one).",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with (`Bearer`).",
        "schema": {"type": "string"},
    },
    "Allow": {"description": "The methods the path accepts.", "schema": {"type": "string"}},
    "ETag": {
        "description": "The resource's entity tag; send it in `If-Match` to change it safely.",
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The limit (IETF RateLimit fields): `"<name>";q=<quota>;w=<window s>`.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left: `"<name>";r=<remaining>;t=<seconds to reset>`.',
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
# Headers each error status carries besides `X-Request-Id`.
_ERROR_HEADERS = {
    401: ["WWW-Authenticate"],
    405: ["Allow"],
    429: ["Retry-After", "RateLimit", "RateLimit-Policy"],
    503: ["Retry-After"],
}


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-Id", *names)}


def _parameters(route: Route) -> list[dict[str, Any]]:
    """Path, query and header parameters, the contract's conventions included."""
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
    parameters += [
        {
            "name": name,
            "in": "header",
            "required": needed,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text, needed in route.header_params
    ]
    if route.idempotent:
        parameters.append(_IDEMPOTENCY_KEY)
    if 412 in route.error_statuses:
        parameters.append(_IF_MATCH)
    if route.streams and route.response is None:
        parameters.append(_LAST_EVENT_ID)
    return parameters


def _statuses(route: Route) -> set[int]:
    """Every error status the route can answer."""
    statuses = set(route.error_statuses) | {400, 404, 405, 503}
    if route.auth is not None:
        statuses.add(401)
    if route.body is not None or route.raw_body:
        statuses |= {413, 415}
    if route.idempotent:
        statuses |= {409, 422}
    return statuses


def _body_required(model: type[BaseModel]) -> bool:
    return any(field.is_required() for field in model.model_fields.values())


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
        models.extend((event, "serialization") for event in route.stream_events)
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
        parameters, statuses = _parameters(route), _statuses(route)
        responses: dict[str, Any] = {}
        success: dict[str, Any] = {"description": "Success", "headers": _headers()}
        if route.response is not None:
            success["content"] = {
                "application/json": {"schema": ref(route.response, "serialization")}
            }
            if "updated_at" in route.response.model_fields:
                success["headers"] = _headers("ETag")
        if route.streams:
            events: dict[str, Any] = {
                "type": "string",
                "description": "Server-sent events; each event's `data` is one of these.",
            }
            if route.stream_events:
                events = {
                    "description": events["description"],
                    "oneOf": [ref(event, "serialization") for event in route.stream_events],
                }
            success.setdefault("content", {})["text/event-stream"] = {"schema": events}
        if route.idempotent:
            success["headers"] = {**success["headers"], **_headers("Idempotent-Replayed")}
        responses[str(route.status)] = success
        for other, meaning in route.other_statuses:
            responses[str(other)] = {**success, "description": meaning}
        for status in sorted(statuses):
            responses[str(status)] = {
                "description": errors.summary_of(status),
                "headers": _headers(*_ERROR_HEADERS.get(status, [])),
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
                    "required": route.raw_body or _body_required(route.body),
                    "content": {"application/json": {"schema": ref(route.body, "validation")}},
                }
            operation["security"] = [{"bearerAuth": []}] if route.auth is not None else []
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": SERVERS,
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "headers": HEADERS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def merge_documents(
    documents: Iterable[dict[str, Any]], title: str = "Agent platform", version: str = "1.0.0"
) -> dict[str, Any]:
    """One document of every function's (what the gateway serves at `/v1/openapi.json`)."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": SERVERS,
        "paths": {},
        "components": {"schemas": {}, "headers": {}, "securitySchemes": {}},
    }
    for document in documents:
        merged["paths"].update(document.get("paths", {}))
        for kind, found in document.get("components", {}).items():
            merged["components"].setdefault(kind, {}).update(found)
    return merged
