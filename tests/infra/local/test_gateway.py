"""The gateway against a small backend: bodiless answers free their connection, and the
path reaches the function exactly as the client encoded it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from werkzeug.test import Client

from infra.local.gateway import Gateway


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


def backend(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["REQUEST_METHOD"] == "DELETE":
        start_response("204 No Content", [])
        return []
    # The raw request line's target, as the server received it.
    target = environ.get("RAW_URI") or environ["PATH_INFO"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [target.encode()]


@pytest.fixture
def gateway() -> Iterator[Client]:
    server = make_server("127.0.0.1", 0, backend, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway = Gateway({"/v1/things": f"http://127.0.0.1:{server.server_port}"})
    # A pool of two: a connection leaked per request would exhaust it at once.
    gateway.client = httpx.Client(
        limits=httpx.Limits(max_connections=2), timeout=httpx.Timeout(5, pool=2)
    )
    yield Client(gateway)
    server.shutdown()
    server.server_close()


def test_bodiless_answers_release_their_connection(gateway: Client) -> None:
    statuses = [gateway.delete("/v1/things/x").status_code for _ in range(10)]

    assert statuses == [204] * 10


def test_unknown_prefixes_are_a_json_404(gateway: Client) -> None:
    response = gateway.get("/v1/elsewhere")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_its_own_answers_carry_cors_for_configured_origins(gateway: Client) -> None:
    allowed = gateway.get("/v1/elsewhere", headers={"Origin": "https://app.example.test"})
    other = gateway.get("/v1/elsewhere", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_root_page_does_not_catch_other_paths() -> None:
    routes = {"/": "http://console", "/console": "http://console", "/v1/things": "http://api"}
    router = Gateway(routes)

    assert router.backend_for("/") == "http://console"
    assert router.backend_for("/console/js/app.js") == "http://console"
    assert router.backend_for("/v1/things/1") == "http://api"
    assert router.backend_for("/v1/unknown") is None
    assert router.backend_for("/docs") is None


@pytest.mark.parametrize("path", ["/healthz", "/nowhere"])
def test_its_own_answers_carry_the_security_headers(gateway: Client, path: str) -> None:
    from shared.web.headers import SECURITY_HEADERS

    response = gateway.get(path)

    assert {k: response.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
