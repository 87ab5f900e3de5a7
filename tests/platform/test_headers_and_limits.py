"""Every route of every HTTP function: security headers, request id, CORS, body limits.

Driven by each function's OpenAPI document, so a route added later is covered without
touching this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.web.headers import SECURITY_HEADERS
from tests.conftest import E2E_ADMIN_TOKEN
from tests.platform.http_functions import HTTP_ENTRIES, loaded, operators_only
from tests.support.guests import new_guest

ALLOWED_ORIGIN = "https://app.example.test"


def operations() -> list[tuple[str, str, str, bool]]:
    """(entry name, method, concrete path, takes a body) for every documented operation."""
    found = []
    for entry in HTTP_ENTRIES:
        client = loaded(entry.name).app.test_client()
        document = client.get("/openapi.json").get_json()
        for path, methods in document["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "does-not-exist", path)
            for method, operation in methods.items():
                takes_body = "requestBody" in operation or "413" in operation["responses"]
                found.append((entry.name, method.upper(), concrete, takes_body))
    return found


OPERATIONS = operations()
BODY_OPERATIONS = [op for op in OPERATIONS if op[3]]
ID_OPERATIONS = [op for op in OPERATIONS if "does-not-exist" in op[2]]


def ids(ops: list[tuple[str, str, str, bool]]) -> list[str]:
    return [f"{name}:{method} {path}" for name, method, path, _ in ops]


def headers_for(entry_name: str) -> dict[str, str]:
    entry = next(e for e in HTTP_ENTRIES if e.name == entry_name)
    if operators_only(entry):
        return {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
    return new_guest().headers


def send(entry_name: str, method: str, path: str, **kwargs: Any) -> Any:
    client = loaded(entry_name).app.test_client()
    return client.open(path, method=method, **kwargs)


def test_there_are_operations_to_check() -> None:
    assert len(OPERATIONS) >= 3
    assert BODY_OPERATIONS


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids(OPERATIONS))
def test_every_response_has_security_headers_and_a_request_id(
    operation: tuple[str, str, str, bool], firestore_db: Any
) -> None:
    name, method, path, _ = operation

    response = send(name, method, path, headers={"Origin": "https://evil.example"})

    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get(header) == value, header
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", response.headers["X-Request-Id"])
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code < 500


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids(OPERATIONS))
def test_configured_origin_gets_cors_headers(
    operation: tuple[str, str, str, bool], firestore_db: Any
) -> None:
    name, method, path, _ = operation

    response = send(
        name,
        "OPTIONS",
        path,
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": method},
    )

    assert response.status_code == 204
    assert method in response.headers["Access-Control-Allow-Methods"]


BAD_BODIES = {
    "oversized-413": (b" " * (2 * 1024 * 1024 + 1), "application/json", 413, "payload_too_large"),
    "wrong-type-415": (
        b"a=1",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
}


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=ids(BODY_OPERATIONS))
@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_oversized_and_wrongly_typed_bodies_are_refused(
    operation: tuple[str, str, str, bool], kind: str, firestore_db: Any
) -> None:
    name, method, path, _ = operation
    data, content_type, status, code = BAD_BODIES[kind]

    response = send(
        name, method, path, data=data, headers={**headers_for(name), "Content-Type": content_type}
    )

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=ids(ID_OPERATIONS))
def test_ids_firestore_reserves_are_a_404_not_a_500(
    operation: tuple[str, str, str, bool], firestore_db: Any
) -> None:
    name, method, path, _ = operation

    response = send(
        name,
        method,
        path.replace("does-not-exist", "__proto__"),
        json={},
        headers=headers_for(name),
    )

    assert response.status_code in (400, 404), response.get_data(as_text=True)
